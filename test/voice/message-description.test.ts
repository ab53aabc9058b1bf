import { describe, expect, it } from "vitest";
import {
  type AttachmentKind,
  attachmentKind,
  type ChatAttachment,
  describeFiles,
  namesSender,
  type SpokenMessageInput,
  spokenMessage,
} from "../../src/voice/message-description.ts";

const image = { name: "cat.png", contentType: "image/png" };
const file = { name: "notes.pdf", contentType: "application/pdf" };
const video = { name: "clip.mp4", contentType: "video/mp4" };
const voice = { name: "voice-message.ogg", contentType: "audio/ogg", voiceMessage: true };

describe("attachmentKind", () => {
  it.each<[ChatAttachment, AttachmentKind]>([
    [image, "image"],
    [{ name: "anim.gif", contentType: "image/gif" }, "image"],
    [video, "video"],
    [{ name: "song.mp3", contentType: "audio/mpeg" }, "audio"],
    [voice, "voice message"],
    [file, "file"],
    [{ name: "photo.JPG" }, "image"],
    [{ name: "photo.jpeg", contentType: null }, "image"],
    [{ name: "movie.webm" }, "video"],
    [{ name: "talk.opus" }, "audio"],
    [{ name: "archive.zip" }, "file"],
    [{ name: "README" }, "file"],
    // A declared type wins over a misleading name.
    [{ name: "cat.png", contentType: "application/octet-stream" }, "file"],
    [{ name: "cat.txt", contentType: "IMAGE/PNG" }, "image"],
  ])("%j → %s", (a, want) => {
    expect(attachmentKind(a)).toBe(want);
  });
});

describe("describeFiles", () => {
  it.each<[string, ChatAttachment[], string[], string]>([
    ["nothing", [], [], ""],
    ["one image", [image], [], "an image"],
    ["three images", [image, image, image], [], "3 images"],
    ["an image and a file", [file, image], [], "an image and a file"],
    ["three kinds", [file, video, image, image], [], "2 images, a video and a file"],
    ["a voice message", [voice], [], "a voice message"],
    ["two audio clips", [{ name: "a.mp3" }, { name: "b.wav" }], [], "2 audio clips"],
    ["a named sticker", [], ["Wave"], "a sticker: Wave"],
    ["two stickers are counted", [], ["Wave", "Heart"], "2 stickers"],
    ["a file and a sticker", [file], ["Wave"], "a file and a sticker: Wave"],
    ["a sticker without a name", [], ["  "], "a sticker"],
    ["a sticker name on one line, cut", [], [`A\nB ${"x".repeat(40)}`], `a sticker: A B ${"x".repeat(26)}`],
  ])("%s", (_name, attachments, stickers, want) => {
    expect(describeFiles(attachments, stickers)).toBe(want);
  });
});

describe("spokenMessage", () => {
  const base: SpokenMessageInput = { name: "Alice", announcement: undefined, text: "", files: "" };
  it.each<[string, Partial<SpokenMessageInput>, string]>([
    ["text, speaker named", { announcement: "Alice said", text: "hi all" }, "Alice said: hi all"],
    ["text, same speaker", { text: "and more" }, "and more"],
    ["a custom template", { announcement: "message from Alice", text: "hi" }, "message from Alice: hi"],
    [
      "text and a file",
      { announcement: "Alice said", text: "look", files: "an image" },
      "Alice said: look, with an image",
    ],
    ["files only name the sender", { files: "2 images" }, "Alice sent 2 images"],
    ["a sticker", { files: "a sticker: Wave" }, "Alice sent a sticker: Wave"],
    ["files only without names", { name: "", files: "an image" }, "Sent an image"],
    [
      "a forward with text",
      { forward: { text: "see you at eight", files: "" } },
      "Alice forwarded a message: see you at eight",
    ],
    ["a forward of a file", { forward: { text: "", files: "an image" } }, "Alice forwarded an image"],
    [
      "a forward with text and a file",
      { forward: { text: "look", files: "a video" } },
      "Alice forwarded a message: look, with a video",
    ],
    ["a forward without names", { name: "", forward: { text: "hi", files: "" } }, "Forwarded a message: hi"],
    ["an empty forward falls back to the message", { text: "hi", forward: { text: "", files: "" } }, "hi"],
    ["a name is never re-cased", { name: "xX_bob", files: "an image" }, "xX_bob sent an image"],
    ["nothing", { announcement: "Alice said" }, ""],
  ])("%s", (_name, over, want) => {
    expect(spokenMessage({ ...base, ...over })).toBe(want);
  });
});

describe("namesSender", () => {
  it.each<[string, Parameters<typeof namesSender>[0], boolean]>([
    ["text", { text: "hi", files: "" }, false],
    ["text and files", { text: "hi", files: "an image" }, false],
    ["files only", { text: "", files: "an image" }, true],
    ["a forward", { text: "", files: "", forward: { text: "x", files: "" } }, true],
    ["an empty forward", { text: "hi", files: "", forward: { text: "", files: "" } }, false],
    ["nothing", { text: "", files: "" }, false],
  ])("%s → %s", (_name, input, want) => {
    expect(namesSender(input)).toBe(want);
  });
});
