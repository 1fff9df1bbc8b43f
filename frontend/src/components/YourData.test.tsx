import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { getToken } from "../lib/authStore";
import { filenameFrom } from "../lib/download";
import { json, mockApi, noContent, type Handler } from "../test/api";
import { page, user } from "../test/fixtures";
import { currentLocation, renderApp } from "../test/render";

const saved: { name: string; blob: Blob }[] = [];
const objectUrls = { create: URL.createObjectURL, revoke: URL.revokeObjectURL };

beforeEach(() => {
  saved.length = 0;
  // jsdom does not download: record what the page would have saved.
  const blobs = new Map<string, Blob>();
  URL.createObjectURL = (blob: Blob) => {
    const url = `blob:test/${blobs.size}`;
    blobs.set(url, blob);
    return url;
  };
  URL.revokeObjectURL = () => undefined;
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    saved.push({ name: this.download, blob: blobs.get(this.href)! });
  });
});

afterEach(() => {
  URL.createObjectURL = objectUrls.create;
  URL.revokeObjectURL = objectUrls.revoke;
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function settingsApi(extra: Record<string, Handler> = {}, me = user) {
  return mockApi({
    "GET /api/v1/users/me": () => json(me),
    "GET /api/v1/users/me/api-tokens": () => json(page([])),
    "GET /api/v1/conversations": () => json(page([])),
    "GET /api/v1/models": () => json(page([])),
    "GET /v1/models": () => json({ object: "list", data: [] }),
    ...extra,
  });
}

function card(heading: string): HTMLElement {
  return screen.getByRole("heading", { name: heading }).closest("section")!;
}

describe("Settings → Your data: export", () => {
  it("downloads the export with the session's token, under the server's file name", async () => {
    const document = { format: "codesmith-export", version: 1, conversations: [{ title: "Parse ISO dates" }] };
    const { requests } = settingsApi({
      "GET /api/v1/users/me/export": () =>
        new Response(JSON.stringify(document), {
          headers: { "Content-Type": "application/json", "Content-Disposition": 'attachment; filename="codesmith-export-2026-12-02.json"' },
        }),
    });
    renderApp("/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Download export" }));
    expect(await screen.findByText("Saved as codesmith-export-2026-12-02.json.")).toBeInTheDocument();
    expect(saved).toHaveLength(1);
    expect(saved[0]!.name).toBe("codesmith-export-2026-12-02.json");
    expect(JSON.parse(await saved[0]!.blob.text())).toEqual(document);
    const call = requests.find((r) => r.url.endsWith("/users/me/export"))!;
    expect(call.headers.get("Authorization")).toBe("Bearer test-jwt");
  });

  it("reads RFC 6266 file names and never a folder", () => {
    expect(filenameFrom("attachment; filename*=UTF-8''caf%C3%A9.md; filename=\"cafe.md\"")).toBe("café.md");
    expect(filenameFrom('attachment; filename="../../etc/passwd"')).toBe("passwd");
    expect(filenameFrom("attachment; filename=plain.json")).toBe("plain.json");
    expect(filenameFrom(null)).toBeNull();
  });
});

describe("Settings → Your data: import", () => {
  function choose(file: File) {
    fireEvent.change(screen.getByLabelText("File to import"), { target: { files: [file] } });
  }

  it("sends the file as JSON and says what was imported, skipped and left out", async () => {
    const content = JSON.stringify([{ id: "abc", title: "From ChatGPT", mapping: {} }]);
    const { requests } = settingsApi({
      "POST /api/v1/users/me/import": () =>
        json({ imported: 2, skipped: 1, errors: [{ index: 3, title: "Empty chat", detail: "no message of a user or an assistant" }] }),
    });
    renderApp("/settings");
    await screen.findByRole("button", { name: "Download export" });
    choose(new File([content], "conversations.json", { type: "application/json" }));
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    const summary = await screen.findByText(/Imported 2 conversations; skipped 1 conversation imported before/);
    expect(summary).toBeInTheDocument();
    expect(screen.getByText("Empty chat: no message of a user or an assistant")).toBeInTheDocument();
    const call = requests.find((r) => r.method === "POST" && r.url.endsWith("/users/me/import"))!;
    expect(call.headers.get("Content-Type")).toBe("application/json");
    expect(await call.text()).toBe(content);
  });

  it("shows where a refused document is wrong, and that nothing was imported", async () => {
    settingsApi({
      "POST /api/v1/users/me/import": () =>
        json(
          {
            status: 422,
            code: "validation_error",
            detail: "The document is not valid.",
            errors: [{ loc: ["body", "conversations", 0, "messages", 1, "parent_id"], msg: "parent does not exist" }],
          },
          422,
        ),
    });
    renderApp("/settings");
    await screen.findByRole("button", { name: "Download export" });
    choose(new File(["{}"], "broken.json", { type: "application/json" }));
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(/Nothing was imported/);
    expect(alert).toHaveTextContent("conversations › 0 › messages › 1 › parent_id: parent does not exist");
  });

  it("says clearly when the file is too large", async () => {
    settingsApi({
      "POST /api/v1/users/me/import": () =>
        json({ status: 413, code: "request_too_large", detail: "Imports are limited to 50 MiB." }, 413),
    });
    renderApp("/settings");
    await screen.findByRole("button", { name: "Download export" });
    choose(new File(["[]"], "huge.json", { type: "application/json" }));
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The file is too large");
    expect(alert).toHaveTextContent("Imports are limited to 50 MiB.");
  });
});

describe("Settings → Your data: retention", () => {
  it("shows the server's limit and saves a shorter period", async () => {
    let retention: number | null = null;
    const { requests } = settingsApi(
      {
        "PATCH /api/v1/users/me": async (request) => {
          retention = ((await request.json()) as { retention_days: number | null }).retention_days;
          return json({ ...user, retention_days: retention, retention_limit_days: 90 });
        },
      },
      { ...user, retention_days: null, retention_limit_days: 90 },
    );
    renderApp("/settings");
    const section = await waitFor(() => card("Keep conversations for"));
    expect(await within(section).findByText("90 days")).toBeInTheDocument();
    await userEvent.click(within(section).getByLabelText("Delete after a number of days"));
    const days = within(section).getByLabelText("Days without changes");
    await userEvent.clear(days);
    await userEvent.type(days, "30");
    await userEvent.click(within(section).getByRole("button", { name: "Save retention" }));
    expect(await within(section).findByText("Saved.")).toBeInTheDocument();
    expect(retention).toBe(30);
    expect(requests.filter((r) => r.method === "PATCH")).toHaveLength(1);
  });
});

describe("Settings → Your data: delete account", () => {
  it("shows the field error for a wrong password and deletes nothing", async () => {
    settingsApi({
      "DELETE /api/v1/users/me": () =>
        json({ status: 422, code: "validation_error", detail: "Wrong password", errors: [{ loc: ["body", "password"], msg: "Wrong password" }] }, 422),
    });
    renderApp("/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Delete account…" }));
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByText(/every conversation, answer and snippet/)).toBeInTheDocument();
    await userEvent.type(within(dialog).getByLabelText("Your password"), "not my password");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete my account" }));
    expect(await within(dialog).findByText("That is not your password.")).toBeInTheDocument();
    expect(getToken()).toBe("test-jwt");
  });

  it("signs out and lands on sign-in saying the account is gone", async () => {
    let body: unknown = null;
    settingsApi({
      "DELETE /api/v1/users/me": async (request) => {
        body = await request.json();
        return noContent();
      },
      "POST /api/v1/auth/logout": () => noContent(),
    });
    renderApp("/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Delete account…" }));
    const dialog = await screen.findByRole("dialog");
    await userEvent.type(within(dialog).getByLabelText("Your password"), "correct horse");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete my account" }));
    expect(await screen.findByText("Your account was deleted")).toBeInTheDocument();
    expect(body).toEqual({ password: "correct horse" });
    expect(getToken()).toBeNull();
    expect(currentLocation).toBe("/sign-in");
  });

  it("explains when the last administrator tries to leave", async () => {
    settingsApi({
      "DELETE /api/v1/users/me": () => json({ status: 409, code: "last_admin", detail: "The last administrator cannot leave." }, 409),
    });
    renderApp("/settings");
    await userEvent.click(await screen.findByRole("button", { name: "Delete account…" }));
    const dialog = await screen.findByRole("dialog");
    await userEvent.type(within(dialog).getByLabelText("Your password"), "correct horse");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete my account" }));
    expect(await within(dialog).findByText("You are the last administrator")).toBeInTheDocument();
  });
});
