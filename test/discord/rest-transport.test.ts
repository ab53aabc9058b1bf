import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRestTransport, encodeMultipart } from "../../src/discord/rest-transport.ts";

describe("encodeMultipart", () => {
  it("round-trips strings and files, bytes and names intact, as a standard parser reads them", async () => {
    const form = new FormData();
    const audio = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    form.append("files[0]", new Blob([audio], { type: "audio/mpeg" }), 'speech "1".mp3');
    form.append("files[1]", new Blob([Buffer.from("\r\n--not a boundary\r\n")]), "naïve.txt");
    form.append("payload_json", JSON.stringify({ content: "héllo\r\nworld" }));
    const { body, contentType } = await encodeMultipart(form);
    const parsed = await new Response(body, { headers: { "content-type": contentType } }).formData();
    const first = parsed.get("files[0]") as File;
    expect(first.name).toBe('speech "1".mp3');
    expect(first.type).toBe("audio/mpeg");
    expect(Buffer.compare(Buffer.from(await first.arrayBuffer()), audio)).toBe(0);
    const second = parsed.get("files[1]") as File;
    expect(second.name).toBe("naïve.txt");
    expect(second.type).toBe("application/octet-stream");
    expect(await second.text()).toBe("\r\n--not a boundary\r\n");
    expect(JSON.parse(parsed.get("payload_json") as string)).toEqual({ content: "héllo\r\nworld" });
  });
});

describe("createRestTransport", () => {
  const seen: { method?: string; headers: Record<string, unknown>; body: string }[] = [];
  let url = "";
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.setHeader("x-ratelimit-remaining", "4");
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.writeHead(req.url === "/missing" ? 404 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: req.url !== "/missing" }));
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("sends JSON bodies with their headers and answers with what discord.js reads", async () => {
    const t = createRestTransport();
    const res = await t.makeRequest(`${url}/channels/1/messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bot x" },
      body: JSON.stringify({ content: "hi" }),
    });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get("x-ratelimit-remaining")).toBe("4");
    expect(await res.json()).toEqual({ ok: true });
    expect(seen.at(-1)).toMatchObject({ method: "POST", body: '{"content":"hi"}' });
    expect(seen.at(-1)!.headers.authorization).toBe("Bot x");
    const missing = await t.makeRequest(`${url}/missing`, { method: "GET" });
    expect(missing.status).toBe(404);
    expect(missing.ok).toBe(false);
    expect(missing.statusText).toBe("Not Found");
    await missing.arrayBuffer();
    await t.close();
  });

  it("encodes a FormData body as one multipart request", async () => {
    const t = createRestTransport();
    const form = new FormData();
    form.append("files[0]", new Blob([Buffer.from("RIFF")]), "a.wav");
    form.append("payload_json", "{}");
    const res = await t.makeRequest(`${url}/webhooks/1/tok/messages/@original`, {
      method: "PATCH",
      body: form as never,
    });
    await res.text();
    const last = seen.at(-1)!;
    expect(String(last.headers["content-type"])).toMatch(/^multipart\/form-data; boundary=/);
    expect(last.body).toContain('filename="a.wav"');
    expect(Number(last.headers["content-length"])).toBe(Buffer.byteLength(last.body));
    await t.close();
  });

  it("aborts with discord.js's signal", async () => {
    const t = createRestTransport();
    const signal = AbortSignal.abort();
    await expect(t.makeRequest(`${url}/x`, { method: "GET", signal })).rejects.toThrow();
    await t.close();
  });
});
