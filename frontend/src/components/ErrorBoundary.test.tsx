import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ErrorBoundary } from "./ErrorBoundary";

function Body({ text }: { text: string }) {
  if (text.includes("BOOM")) throw new Error("cannot render this message");
  return <p>{text}</p>;
}

function Thread({ messages }: { messages: string[] }) {
  return (
    <ol>
      {messages.map((text) => (
        <li key={text}>
          <ErrorBoundary raw={text} resetKey={text}>
            <Body text={text} />
          </ErrorBoundary>
        </li>
      ))}
    </ol>
  );
}

describe("ErrorBoundary", () => {
  it("contains a message that throws while its siblings still render", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const raw = 'BOOM <img src="x" onerror="alert(1)"> <script>window.pwned = true</script>';
    const { container } = render(<Thread messages={["first answer", raw, "third answer"]} />);

    expect(screen.getByText("first answer")).toBeInTheDocument();
    expect(screen.getByText("third answer")).toBeInTheDocument();
    expect(screen.getByText("This message could not be displayed")).toBeInTheDocument();

    // The raw text is there as text: no element is made from it.
    await userEvent.click(screen.getByText("Show the raw text"));
    expect(screen.getByText(raw)).toBeInTheDocument();
    expect(container.querySelector("img, script")).toBeNull();
    expect(container.querySelector("[onerror]")).toBeNull();

    expect(logged).toHaveBeenCalledWith(
      "This message could not be displayed:",
      expect.objectContaining({ message: "cannot render this message" }),
      expect.anything(),
    );
  });

  it("names what failed and shows no raw-text toggle when there is no text", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    render(
      <ErrorBoundary noun="snippet">
        <Body text="BOOM" />
      </ErrorBoundary>,
    );
    expect(screen.getByText("This snippet could not be displayed")).toBeInTheDocument();
    expect(screen.queryByText("Show the raw text")).toBeNull();
  });

  it("renders the children again when the reset key changes", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { rerender } = render(
      <ErrorBoundary raw="BOOM" resetKey="BOOM">
        <Body text="BOOM" />
      </ErrorBoundary>,
    );
    expect(screen.getByText("This message could not be displayed")).toBeInTheDocument();
    rerender(
      <ErrorBoundary raw="fine now" resetKey="fine now">
        <Body text="fine now" />
      </ErrorBoundary>,
    );
    expect(screen.getByText("fine now")).toBeInTheDocument();
    expect(screen.queryByText("This message could not be displayed")).toBeNull();
  });
});
