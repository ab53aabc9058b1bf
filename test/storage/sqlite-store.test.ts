import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { Keyv } from "keyv";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { KEYV_TABLE, openSqlite, SqliteStore, sqliteLocation } from "../../src/storage/sqlite-store.ts";
import { createStorage, type Storage, StorageError } from "../../src/storage/storage.ts";
import { describeStorageContract } from "./store-contract.ts";

const dir = mkdtempSync(join(tmpdir(), "storage-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A folder that does not exist yet: opening must create it.
const fileUrl = `sqlite://${join(dir, "nested", "folder", "bot.sqlite")}`;
describeStorageContract("sqlite", () => createStorage(fileUrl));

describe("sqliteLocation", () => {
  it.each([
    ["sqlite://data/bot.sqlite", "data/bot.sqlite"],
    ["sqlite://./bot.sqlite", "./bot.sqlite"],
    ["sqlite:///srv/bot/bot.sqlite", "/srv/bot/bot.sqlite"],
    ["sqlite://:memory:", ":memory:"],
  ])("%s → %s", (url, location) => {
    expect(sqliteLocation(url)).toBe(location);
  });

  it.each(["sqlite://", "sqlite://data/", "redis://x"])("refuses %s", (url) => {
    expect(() => sqliteLocation(url)).toThrow();
  });
});

describe("createStorage (sqlite)", () => {
  const open: Storage[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it("opens an in-memory database and exposes the handle for own tables", async () => {
    const s = await createStorage("sqlite://:memory:");
    open.push(s);
    expect(s.kind).toBe("sqlite");
    await s.keyv<string>("users").set("u1", "x");
    const row = s.sqlite!.prepare(`SELECT key, value, expires FROM ${KEYV_TABLE}`).get();
    expect(row?.key).toBe("users:u1");
    expect(row?.expires).toBeNull();
  });

  it("turns on WAL and a busy timeout for a file database", async () => {
    const s = await createStorage(`sqlite://${join(dir, "pragmas.sqlite")}`, { busyTimeoutMs: 1234 });
    open.push(s);
    expect(s.sqlite!.prepare("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    expect(s.sqlite!.prepare("PRAGMA busy_timeout").get()?.timeout).toBe(1234);
  });

  it("returns one Keyv per namespace", async () => {
    const s = await createStorage("sqlite://:memory:");
    open.push(s);
    expect(s.keyv("guilds")).toBe(s.keyv("guilds"));
    expect(s.keyv("guilds")).not.toBe(s.keyv("users"));
  });

  it("names STORAGE_URL when the database cannot be opened", async () => {
    const blocker = join(dir, "a-file");
    await createStorage(`sqlite://${blocker}`).then((s) => s.close());
    // The parent "folder" is a file, so the database cannot be created.
    const err = await createStorage(`sqlite://${join(blocker, "x.sqlite")}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(String(err)).toMatch(/STORAGE_URL=sqlite:\/\//);
  });

  it("refuses an unknown scheme", async () => {
    await expect(createStorage("postgres://x")).rejects.toThrow(/STORAGE_URL must start with/);
  });
});

describe("SqliteStore", () => {
  function store(now: () => number, sweepIntervalMs = 0) {
    const db = openSqlite(":memory:");
    return { db, store: new SqliteStore({ db, namespace: "ns", now, sweepIntervalMs, ownsDatabase: true }) };
  }
  const count = (db: DatabaseSync) => Number(db.prepare(`SELECT count(*) AS n FROM ${KEYV_TABLE}`).get()?.n);

  it("hides a row once its expires column has passed, and deletes it", async () => {
    let t = 1_000;
    const { db, store: s } = store(() => t);
    await s.set("ns:a", '"x"', 500);
    expect(await s.get("ns:a")).toBe('"x"');
    expect(await s.has("ns:a")).toBe(true);
    t = 1_500;
    expect(await s.has("ns:a")).toBe(false);
    expect(await s.get("ns:a")).toBeUndefined();
    expect(count(db)).toBe(0);
    await s.disconnect();
  });

  it("sweeps expired rows of every namespace on a later write", async () => {
    let t = 0;
    const { db, store: s } = store(() => t, 1_000);
    await s.set("ns:old", '"x"', 10);
    await s.set("other:old", '"x"', 10);
    t = 500; // Within the sweep interval: nothing is swept yet.
    await s.set("ns:b", '"y"');
    expect(count(db)).toBe(3);
    t = 2_000;
    await s.set("ns:c", '"z"');
    expect(
      db
        .prepare(`SELECT key FROM ${KEYV_TABLE} ORDER BY key`)
        .all()
        .map((r) => r.key),
    ).toEqual(["ns:b", "ns:c"]);
    await s.disconnect();
  });

  it("clear() leaves namespaces that merely share a prefix alone", async () => {
    const { store: s } = store(Date.now);
    const kv = new Keyv<string>({ store: s, namespace: "ns", throwOnErrors: true });
    const other = new Keyv<string>({
      store: new SqliteStore({ db: s.db, namespace: "ns2" }),
      namespace: "ns2",
      throwOnErrors: true,
    });
    await kv.set("a", "1");
    await other.set("a", "2");
    await kv.clear();
    expect(await other.get("a")).toBe("2");
    await s.disconnect();
  });

  it("refuses a value Keyv did not serialize", async () => {
    const { store: s } = store(Date.now);
    await expect(s.set("ns:a", { raw: true })).rejects.toThrow(TypeError);
    await s.disconnect();
  });

  it("does not close a database it does not own", async () => {
    const db = openSqlite(":memory:");
    await new SqliteStore({ db }).disconnect();
    expect(db.isOpen).toBe(true);
    db.close();
  });
});
