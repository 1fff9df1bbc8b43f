import { afterEach, describe, expect, it, vi } from "vitest";
import { generationEvents, readSSE, SSEParser, type SSEMessage } from "./sse";
import { ApiError } from "../api/errors";
import { setToken } from "./authStore";

function parseChunks(chunks: string[]) {
  const events: SSEMessage[] = [];
  const comments: string[] = [];
  const parser = new SSEParser({ onEvent: (event) => events.push(event), onComment: (text) => comments.push(text) });
  chunks.forEach((chunk) => parser.feed(chunk));
  parser.end();
  return { events, comments, parser };
}

/** Every way of cutting `text` in two (and in single characters) must parse the same. */
function allSplits(text: string): string[][] {
  const splits: string[][] = [[...text]];
  for (let i = 1; i < text.length; i++) splits.push([text.slice(0, i), text.slice(i)]);
  return splits;
}

const STREAM =
  'event: start\ndata: {"message_id":"m1"}\n\n' +
  ": ping\n\n" +
  'event: delta\ndata: {"text":"Hel"}\n\n' +
  'event: delta\ndata: {"text":"lo"}\n\n' +
  'event: done\ndata: {"id":"m1","status":"complete"}\n\n';

describe("SSEParser", () => {
  it("parses the contract's events in order", () => {
    const { events } = parseChunks([STREAM]);
    expect(events.map((event) => event.event)).toEqual(["start", "delta", "delta", "done"]);
    expect(JSON.parse(events[1]!.data)).toEqual({ text: "Hel" });
  });

  it("gives the same events whichever way the chunks are split", () => {
    const expected = parseChunks([STREAM]).events;
    for (const chunks of allSplits(STREAM)) {
      expect(parseChunks(chunks).events).toEqual(expected);
    }
  });

  it("joins multi-line data with newlines", () => {
    const { events } = parseChunks(["data: first\ndata: second\ndata:third\n\n"]);
    expect(events).toEqual([{ event: "message", data: "first\nsecond\nthird", id: null }]);
  });

  it("accepts CRLF and lone CR line endings, even with CR and LF in different chunks", () => {
    const crlf = "event: delta\r\ndata: {\"text\":\"a\"}\r\n\r\n";
    for (const chunks of allSplits(crlf)) {
      expect(parseChunks(chunks).events).toEqual([{ event: "delta", data: '{"text":"a"}', id: null }]);
    }
    expect(parseChunks(["data: x\r\rdata: y\r\r"]).events.map((event) => event.data)).toEqual(["x", "y"]);
  });

  it("treats comment lines as heartbeats, not events", () => {
    const { events, comments } = parseChunks([": ping\n\n:keepalive\n\ndata: real\n\n"]);
    expect(comments).toEqual(["ping", "keepalive"]);
    expect(events.map((event) => event.data)).toEqual(["real"]);
  });

  it("remembers the last id for Last-Event-ID, and ids persist to later events", () => {
    const { events, parser } = parseChunks(["id: 7\ndata: a\n\ndata: b\n\nid: 9\ndata: c\n\n"]);
    expect(events.map((event) => event.id)).toEqual(["7", "7", "9"]);
    expect(parser.lastEventId).toBe("9");
  });

  it("keeps data verbatim beyond the one optional space and keeps empty data lines", () => {
    const { events } = parseChunks(["data:  two spaces\ndata\ndata: end\n\n"]);
    expect(events[0]!.data).toBe(" two spaces\n\nend");
  });

  it("drops an unterminated event at the end of the stream and events without data", () => {
    const { events } = parseChunks(["event: done\n\n", "event: delta\ndata: partial"]);
    expect(events).toEqual([]);
  });

  it("ignores unknown fields", () => {
    const { events } = parseChunks(["foo: bar\nevent: delta\ndata: x\n\n"]);
    expect(events).toEqual([{ event: "delta", data: "x", id: null }]);
  });
});

function byteStream(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      parts.forEach((part) => controller.enqueue(part));
      controller.close();
    },
  });
}

describe("readSSE", () => {
  it("decodes UTF-8 characters split across network chunks", async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"héllo → ✓"}\n\n');
    const parts = [bytes.slice(0, 27), bytes.slice(27, 29), bytes.slice(29)];
    const events: SSEMessage[] = [];
    for await (const event of readSSE(byteStream(parts))) events.push(event);
    expect(JSON.parse(events[0]!.data)).toEqual({ text: "héllo → ✓" });
  });
});

describe("generationEvents", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    setToken(null);
  });

  function streamResponse(text: string) {
    return new Response(byteStream([new TextEncoder().encode(text)]), {
      status: 200,
      headers: { "Content-Type": "text/event-stream" },
    });
  }

  it("posts with the bearer token and yields typed events, skipping heartbeats and unknown events", async () => {
    setToken("jwt-1");
    const fetchMock = vi.fn(async (_request: Request) =>
      streamResponse(': ping\n\nevent: start\ndata: {"message_id":"m"}\n\nevent: other\ndata: {}\n\nevent: delta\ndata: {"text":"x"}\n\n'),
    );
    vi.stubGlobal("fetch", fetchMock);
    const heartbeats = vi.fn();
    const seen = [];
    for await (const event of generationEvents("/api/v1/conversations", { body: { prompt: "p", stream: true }, onHeartbeat: heartbeats })) {
      seen.push(event.type);
    }
    expect(seen).toEqual(["start", "delta"]);
    expect(heartbeats).toHaveBeenCalledTimes(1);
    const sent = fetchMock.mock.calls[0]![0];
    expect(sent.method).toBe("POST");
    expect(sent.headers.get("Authorization")).toBe("Bearer jwt-1");
    expect(await sent.json()).toEqual({ prompt: "p", stream: true });
  });

  it("sends Last-Event-ID when re-attaching", async () => {
    const fetchMock = vi.fn(async (_request: Request) => streamResponse(""));
    vi.stubGlobal("fetch", fetchMock);
    for await (const _ of generationEvents("/x/stream", { lastEventId: "42" })) void _;
    const sent = fetchMock.mock.calls[0]![0];
    expect(sent.method).toBe("GET");
    expect(sent.headers.get("Last-Event-ID")).toBe("42");
  });

  it("rejects with the problem's code when the request is refused before streaming", async () => {
    const problem = { status: 422, code: "not_a_code_request", detail: "Only code." };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(problem), { status: 422, headers: { "Content-Type": "application/problem+json" } })));
    const run = async () => {
      for await (const _ of generationEvents("/api/v1/conversations", { body: {} })) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: "not_a_code_request", status: 422 });
    await expect(run()).rejects.toBeInstanceOf(ApiError);
  });

  it("yields the error event that replaces done", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => streamResponse('event: error\ndata: {"code":"upstream_timeout","detail":"slow","message_id":"m"}\n\n')));
    const events = [];
    for await (const event of generationEvents("/s")) events.push(event);
    expect(events).toEqual([{ type: "error", data: { code: "upstream_timeout", detail: "slow", message_id: "m" }, id: null }]);
  });

  it("forgets the token when the server answers 401", async () => {
    setToken("expired");
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ status: 401, code: "not_authenticated" }), { status: 401 })));
    const run = async () => {
      for await (const _ of generationEvents("/s")) void _;
    };
    await expect(run()).rejects.toMatchObject({ status: 401 });
    expect(localStorage.getItem("codesmith.token")).toBeNull();
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
      if (request.signal.aborted) throw new DOMException("aborted", "AbortError");
      return streamResponse("");
    }));
    controller.abort();
    const run = async () => {
      for await (const _ of generationEvents("/s", { signal: controller.signal })) void _;
    };
    await expect(run()).rejects.toThrow(/abort/i);
  });
});
