import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AdminUser, AuditEvent, Invitation } from "../../api/types";
import { json, mockApi, noContent, type Handler } from "../../test/api";
import { page, user } from "../../test/fixtures";
import { renderApp } from "../../test/render";
import { invitationStatus } from "./Registration";

afterEach(() => vi.unstubAllGlobals());

const admin = { ...user, id: "u-admin", email: "root@example.com", is_admin: true };

function adminUser(fields: Partial<AdminUser> & Pick<AdminUser, "id" | "email">): AdminUser {
  return {
    is_admin: false,
    disabled: false,
    created_at: "2026-01-01T00:00:00Z",
    last_active_at: null,
    usage_30d: { requests: 3, prompt_tokens: 1200, completion_tokens: 300, cost_usd: 0.42 },
    ...fields,
  };
}

function adminApi(routes: Record<string, Handler>, me = admin) {
  return mockApi({
    "GET /api/v1/users/me": () => json(me),
    "GET /api/v1/conversations": () => json(page([])),
    ...routes,
  });
}

describe("Admin console: who sees it", () => {
  it("tells a user who is not an administrator that the page needs one, and shows no nav link", async () => {
    const { requests } = adminApi({}, user);
    renderApp("/admin");
    expect(await screen.findByRole("heading", { name: "This page needs an administrator" })).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Admin" })).not.toBeInTheDocument();
    expect(requests.some((r) => r.url.includes("/api/v1/admin/"))).toBe(false);
  });

  it("shows administrators the nav link", async () => {
    adminApi({ "GET /api/v1/admin/users": () => json(page([])) });
    renderApp("/");
    expect(await screen.findByRole("link", { name: "Admin" })).toHaveAttribute("href", "/admin");
  });
});

describe("Admin → Users", () => {
  it("lists users with badges and 30-day usage, searches once typing pauses, and loads more by cursor", async () => {
    const { requests } = adminApi({
      "GET /api/v1/admin/users": (request) => {
        const url = new URL(request.url);
        if (url.searchParams.get("q") === "ada") return json(page([adminUser({ id: "u1", email: "ada@example.com" })]));
        if (url.searchParams.get("cursor") === "next") return json(page([adminUser({ id: "u3", email: "old@example.com" })]));
        return json(
          page(
            [
              adminUser({ id: "u-admin", email: "root@example.com", is_admin: true, last_active_at: new Date().toISOString() }),
              adminUser({ id: "u2", email: "gone@example.com", disabled: true }),
            ],
            "next",
          ),
        );
      },
    });
    renderApp("/admin");
    const root = await screen.findByRole("row", { name: "root@example.com" });
    // System models live on the Models page: the console links there.
    const tabs = screen.getByRole("navigation", { name: "Administration" });
    expect(within(tabs).getByRole("link", { name: "System models" })).toHaveAttribute("href", "/models");
    expect(within(root).getByText("Admin")).toBeInTheDocument();
    expect(within(root).getByText("You")).toBeInTheDocument();
    expect(within(root).getByText("1.5K")).toBeInTheDocument();
    expect(within(root).getByText("$0.42")).toBeInTheDocument();
    expect(within(screen.getByRole("row", { name: "gone@example.com" })).getByText("Disabled")).toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByRole("row", { name: "old@example.com" })).toBeInTheDocument();

    await userEvent.type(screen.getByRole("searchbox", { name: "Search users" }), "ada");
    expect(await screen.findByRole("row", { name: "ada@example.com" })).toBeInTheDocument();
    const searches = requests.map((r) => new URL(r.url)).filter((u) => u.pathname === "/api/v1/admin/users" && u.searchParams.get("q"));
    expect(searches.map((u) => u.searchParams.get("q"))).toEqual(["ada"]);
  });

  it("disables a user after a confirmation that says what happens", async () => {
    let target = adminUser({ id: "u2", email: "ada@example.com" });
    const { requests } = adminApi({
      "GET /api/v1/admin/users": () => json(page([target])),
      "PATCH /api/v1/admin/users/:id": async (request, { id }) => {
        const body = (await request.json()) as Partial<AdminUser>;
        expect(id).toBe("u2");
        target = { ...target, ...body };
        return json(target);
      },
    });
    renderApp("/admin");
    await userEvent.click(await screen.findByRole("button", { name: "Disable: ada@example.com" }));
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByText(/signed out everywhere at once/)).toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole("button", { name: "Disable" }));
    const row = await screen.findByRole("row", { name: "ada@example.com" });
    expect(await within(row).findByText("Disabled")).toBeInTheDocument();
    expect(within(row).getByRole("button", { name: "Enable: ada@example.com" })).toBeInTheDocument();
    const patch = requests.find((r) => r.method === "PATCH")!;
    expect(await patch.json()).toEqual({ disabled: true });
  });

  it("explains that the last administrator cannot remove their own rights", async () => {
    adminApi({
      "GET /api/v1/admin/users": () => json(page([adminUser({ id: "u-admin", email: "root@example.com", is_admin: true })])),
      "PATCH /api/v1/admin/users/:id": () => json({ status: 409, code: "last_admin", detail: "The last administrator cannot do that." }, 409),
    });
    renderApp("/admin");
    await userEvent.click(await screen.findByRole("button", { name: "Remove admin: root@example.com" }));
    const dialog = await screen.findByRole("dialog");
    await userEvent.click(within(dialog).getByRole("button", { name: "Remove admin" }));
    expect(await within(dialog).findByText("You are the last administrator")).toBeInTheDocument();
  });
});

describe("Admin → Users → Limits", () => {
  const limits = { user_id: "u2", requests_per_minute: 20, tokens_per_day: 200000, requests_per_minute_override: null, tokens_per_day_override: null };

  it("shows the server's defaults and saves the user's own limits (empty: the default, 0: unlimited)", async () => {
    const { requests } = adminApi({
      "GET /api/v1/admin/users": () => json(page([adminUser({ id: "u2", email: "ada@example.com" })])),
      "GET /api/v1/admin/users/:id/limits": () => json(limits),
      "PUT /api/v1/admin/users/:id/limits": async (request) => json({ ...limits, ...((await request.json()) as object) }),
    });
    renderApp("/admin");
    await userEvent.click(await screen.findByRole("button", { name: "Limits: ada@example.com" }));
    const dialog = await screen.findByRole("dialog", { name: "Limits of ada@example.com" });
    expect(await within(dialog).findByText("Server default: 200,000.")).toBeInTheDocument();
    await userEvent.type(within(dialog).getByLabelText("Tokens per day"), "1,000,000");
    await userEvent.type(within(dialog).getByLabelText("Requests per minute"), "0");
    await userEvent.click(within(dialog).getByRole("button", { name: "Save limits" }));
    await waitFor(() => expect(requests.some((r) => r.method === "PUT")).toBe(true));
    const put = requests.find((r) => r.method === "PUT")!;
    expect(new URL(put.url).pathname).toBe("/api/v1/admin/users/u2/limits");
    expect(await put.json()).toEqual({ requests_per_minute: 0, tokens_per_day: 1000000 });
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("refuses what is not a whole number and sends nothing", async () => {
    const { requests } = adminApi({
      "GET /api/v1/admin/users": () => json(page([adminUser({ id: "u2", email: "ada@example.com" })])),
      "GET /api/v1/admin/users/:id/limits": () => json({ ...limits, tokens_per_day_override: 5000 }),
    });
    renderApp("/admin");
    await userEvent.click(await screen.findByRole("button", { name: "Limits: ada@example.com" }));
    const dialog = await screen.findByRole("dialog", { name: "Limits of ada@example.com" });
    const tokens = await within(dialog).findByLabelText("Tokens per day");
    expect(tokens).toHaveValue("5000");
    await userEvent.clear(tokens);
    await userEvent.type(tokens, "-3");
    await userEvent.click(within(dialog).getByRole("button", { name: "Save limits" }));
    expect(await within(dialog).findByText(/A whole number, 0 for unlimited/)).toBeInTheDocument();
    expect(requests.some((r) => r.method === "PUT")).toBe(false);
  });
});

describe("Admin → Audit log", () => {
  const event = (fields: Partial<AuditEvent> & Pick<AuditEvent, "id" | "action">): AuditEvent => ({
    created_at: "2026-01-01T00:00:00Z",
    actor: { id: "u-admin", email: "root@example.com" },
    target_type: "user",
    target_id: "u2",
    details: {},
    ...fields,
  });

  it("lists actions with their actor and details, and filters by action", async () => {
    const { requests } = adminApi({
      "GET /api/v1/admin/audit": (request) => {
        const action = new URL(request.url).searchParams.get("action");
        const all = [
          event({ id: "e1", action: "user.update", details: { disabled: true } }),
          event({ id: "e2", action: "registration.update", target_type: null, target_id: null, details: { mode: "invite" } }),
        ];
        return json(page(action ? all.filter((item) => item.action === action) : all));
      },
    });
    renderApp("/admin/audit");
    const log = await screen.findByRole("list", { name: "Audit log" });
    expect(within(log).getByText("User changed")).toBeInTheDocument();
    expect(within(log).getByText(/disabled: true/)).toBeInTheDocument();
    expect(within(log).getByText("Registration mode changed")).toBeInTheDocument();
    expect(within(log).getAllByText("root@example.com")).toHaveLength(2);

    await userEvent.selectOptions(screen.getByLabelText("Action"), "registration.update");
    await waitFor(() => expect(within(screen.getByRole("list", { name: "Audit log" })).queryByText("User changed")).not.toBeInTheDocument());
    expect(requests.some((r) => new URL(r.url).searchParams.get("action") === "registration.update")).toBe(true);
  });
});

describe("Admin → Registration", () => {
  const invitation = (fields: Partial<Invitation> & Pick<Invitation, "id">): Invitation => ({
    email: null,
    created_at: "2026-01-01T00:00:00Z",
    expires_at: "2999-01-01T00:00:00Z",
    used_at: null,
    revoked_at: null,
    ...fields,
  });

  it("changes the mode when a radio is chosen", async () => {
    let mode = "open";
    adminApi({
      "GET /api/v1/admin/registration": () => json({ mode, default_mode: "open" }),
      "PUT /api/v1/admin/registration": async (request) => {
        mode = ((await request.json()) as { mode: string }).mode;
        return json({ mode, default_mode: "open" });
      },
      "GET /api/v1/admin/invitations": () => json(page([])),
    });
    renderApp("/admin/registration");
    expect(await screen.findByRole("radio", { name: /Open/ })).toBeChecked();
    await userEvent.click(screen.getByRole("radio", { name: /By invitation/ }));
    expect(await screen.findByText("Saved.")).toBeInTheDocument();
    expect(mode).toBe("invite");
    expect(screen.getByRole("radio", { name: /By invitation/ })).toBeChecked();
  });

  it("creates an invitation and shows its link once, with the server's address", async () => {
    let items: Invitation[] = [];
    const { requests } = adminApi({
      "GET /api/v1/admin/registration": () => json({ mode: "invite", default_mode: "open" }),
      "GET /api/v1/admin/invitations": () => json(page(items)),
      "POST /api/v1/admin/invitations": () => {
        const created = invitation({ id: "i1", email: "new@example.com", expires_at: "2999-01-01T00:00:00Z" });
        items = [created];
        return json({ ...created, token: "csi_secret", url: "/sign-up?invitation=csi_secret" }, 201);
      },
    });
    renderApp("/admin/registration");
    await userEvent.type(await screen.findByLabelText("For email (optional)"), "new@example.com");
    await userEvent.selectOptions(screen.getByLabelText("Expires after"), "30");
    await userEvent.click(screen.getByRole("button", { name: "Create invitation" }));
    expect(await screen.findByLabelText("Invitation link")).toHaveValue(`${location.origin}/sign-up?invitation=csi_secret`);
    const post = requests.find((r) => r.method === "POST")!;
    expect(await post.json()).toEqual({ email: "new@example.com", expires_in_days: 30 });
    const list = await screen.findByRole("list", { name: "Invitations" });
    expect(within(list).getByText("Active")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByLabelText("Invitation link")).not.toBeInTheDocument();
    expect(screen.queryByText(/csi_secret/)).not.toBeInTheDocument();
  });

  it("revokes an active invitation after confirming", async () => {
    let items = [invitation({ id: "i1", email: "new@example.com" })];
    adminApi({
      "GET /api/v1/admin/registration": () => json({ mode: "invite", default_mode: "open" }),
      "GET /api/v1/admin/invitations": () => json(page(items)),
      "DELETE /api/v1/admin/invitations/:id": () => {
        items = [{ ...items[0]!, revoked_at: new Date().toISOString() }];
        return noContent();
      },
    });
    renderApp("/admin/registration");
    await userEvent.click(await screen.findByRole("button", { name: "Revoke the invitation for new@example.com" }));
    await userEvent.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Revoke" }));
    expect(await within(screen.getByRole("list", { name: "Invitations" })).findByText("Revoked")).toBeInTheDocument();
  });

  it("names each invitation's status", () => {
    const now = Date.parse("2026-06-01T00:00:00Z");
    expect(invitationStatus(invitation({ id: "a" }), now)).toBe("active");
    expect(invitationStatus(invitation({ id: "b", used_at: "2026-02-01T00:00:00Z" }), now)).toBe("used");
    expect(invitationStatus(invitation({ id: "c", revoked_at: "2026-02-01T00:00:00Z" }), now)).toBe("revoked");
    expect(invitationStatus(invitation({ id: "d", expires_at: "2026-05-01T00:00:00Z" }), now)).toBe("expired");
  });
});
