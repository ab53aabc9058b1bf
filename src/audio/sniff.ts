/**
 * What a provider's "audio" bytes really are, from their first bytes. Providers are untrusted: a
 * proxy error page, a JSON error, or a file of another kind must never be wrapped as WAV or posted as
 * audio. This looks only at magic numbers (no decoding), so it is cheap enough for every answer.
 */

/** What the bytes start like. */
export type SniffedKind =
  | "mp3"
  | "wav"
  | "flac"
  | "ogg"
  /** RIFF of another kind (AVI, WebP, …). */
  | "riff"
  | "zip"
  | "gzip"
  | "pdf"
  | "png"
  | "jpeg"
  | "gif"
  | "html"
  | "json"
  /** Other text (an error message, XML without a leading `<`…). */
  | "text"
  | "empty"
  /** None of the above: for raw PCM, this is what audio looks like. */
  | "unknown";

/** The formats audio can be asked for or arrive in (request formats and result-archive extensions). */
export type ExpectedAudio = "mp3" | "wav" | "flac" | "pcm" | "ogg" | "opus" | "pcmu_raw" | "pcmu_wav";

const ascii = (bytes: Uint8Array, at: number, text: string): boolean => {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** How much of the head the text heuristic looks at. */
const TEXT_WINDOW = 512;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Whether `bytes` is valid UTF-8, allowing a multi-byte character cut off at the end. */
function isUtf8(bytes: Uint8Array): boolean {
  for (let cut = 0; cut <= Math.min(3, bytes.length - 1); cut++) {
    try {
      utf8.decode(bytes.subarray(0, bytes.length - cut));
      return true;
    } catch {
      // A character may have been cut at the window's edge: try a little shorter.
    }
  }
  return false;
}

/**
 * Whether the head reads as text: valid UTF-8 with no control bytes other than tab, CR, LF (and form
 * feed / ESC, which text files do contain). Raw PCM is essentially never like this: silence is 0x00
 * bytes, quiet negative samples are 0xFF/0xFE bytes (never valid UTF-8), and 512 bytes of noise all
 * landing in the printable range has a vanishing probability.
 */
function looksLikeText(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, TEXT_WINDOW);
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0c || b === 0x1b) continue;
    if (b < 0x20 || b === 0x7f) return false;
  }
  return end > 0 && isUtf8(bytes.subarray(0, end));
}

/** The first byte after a UTF-8 BOM and ASCII whitespace. */
function firstSignificant(bytes: Uint8Array): number | undefined {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || (bytes[i]! >= 0x09 && bytes[i]! <= 0x0d))) i++;
  return bytes[i];
}

/** An MPEG audio frame header start: 11 sync bits, then a layer that is not "reserved". */
function isFrameSync(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0 && ((bytes[1]! >> 1) & 3) !== 0
  );
}

/** Classifies the head of `bytes`. Pure; looks at no more than the first 512 bytes. */
export function sniffAudio(bytes: Uint8Array): SniffedKind {
  if (bytes.length === 0) return "empty";
  if (ascii(bytes, 0, "ID3") || isFrameSync(bytes)) return "mp3";
  if (ascii(bytes, 0, "RIFF")) return ascii(bytes, 8, "WAVE") ? "wav" : "riff";
  if (ascii(bytes, 0, "fLaC")) return "flac";
  if (ascii(bytes, 0, "OggS")) return "ogg";
  if (ascii(bytes, 0, "PK\x03\x04") || ascii(bytes, 0, "PK\x05\x06") || ascii(bytes, 0, "PK\x07\x08")) {
    return "zip";
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "gzip";
  if (ascii(bytes, 0, "%PDF")) return "pdf";
  if (bytes[0] === 0x89 && ascii(bytes, 1, "PNG")) return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (ascii(bytes, 0, "GIF8")) return "gif";
  if (looksLikeText(bytes)) {
    const first = firstSignificant(bytes);
    if (first === 0x3c /* < */) return "html";
    if (first === 0x7b /* { */ || first === 0x5b /* [ */) return "json";
    return "text";
  }
  return "unknown";
}

/** Kinds that raw PCM may look like: anything that is not recognisably something else. */
const PCM_LOOKALIKES: ReadonlySet<SniffedKind> = new Set(["unknown", "wav"]);

/**
 * Whether `bytes` can be audio of the `expected` format. Containers must carry their magic number
 * (mp3: ID3 or a frame sync; wav: RIFF…WAVE; flac: fLaC; ogg/opus: OggS). Raw PCM has none, so it is
 * refused only when it is obviously something else — another container, an archive, a document, or
 * text (HTML, JSON, an error message); a WAV is accepted (some gateways wrap PCM). An MPEG frame sync
 * is a plausible PCM sample pair (0xFFFF is -1), so only an ID3 tag makes "pcm" bytes an mp3.
 */
export function checkAudioBytes(
  bytes: Uint8Array,
  expected: ExpectedAudio,
): { ok: true; kind: SniffedKind } | { ok: false; kind: SniffedKind } {
  const kind = sniffAudio(bytes);
  let ok: boolean;
  switch (expected) {
    case "mp3":
      ok = kind === "mp3";
      break;
    case "wav":
    case "pcmu_wav":
      ok = kind === "wav";
      break;
    case "flac":
      ok = kind === "flac";
      break;
    case "ogg":
    case "opus":
      ok = kind === "ogg";
      break;
    case "pcm":
    case "pcmu_raw":
      ok = PCM_LOOKALIKES.has(kind) || (kind === "mp3" && !ascii(bytes, 0, "ID3"));
      break;
  }
  return { ok, kind };
}

/** Maps a file extension or format name to what `checkAudioBytes` expects; undefined for others. */
export function expectedAudioFor(format: string): ExpectedAudio | undefined {
  const f = format.toLowerCase();
  return (["mp3", "wav", "flac", "pcm", "ogg", "opus", "pcmu_raw", "pcmu_wav"] as const).find((e) => e === f);
}
