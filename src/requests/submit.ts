import { NARRATE_FORMATS } from "../jobs/narrate.ts";
import { assertMayRequest } from "../settings/access.ts";
import type { SpeakOptions } from "../speak/speak-options.ts";
import { channelMention } from "../text/markup.ts";
import { prepareFileInput, prepareTextInput } from "../text/narration-input.ts";
import { formatScript, storyScriptOf } from "../text/script.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { Pump, RequestContext } from "./context.ts";
import { isFinalRequest, type NarrationRequestRecord, type RequestInput } from "./types.ts";

/**
 * `/request submit`: a checked title, format and input, within the guild's limits and the member's
 * open requests; stored, then its card posted (a request whose card cannot be posted is cancelled).
 * With approval off it starts as approved and the guild's queue runs at once.
 */

export const MAX_OPEN_PER_REQUESTER = 5;
export const MAX_TITLE_LENGTH = 100;

export interface SubmitRequest {
  guildId: string;
  requesterId: string;
  /** Display name, for the credit in the narration's title. */
  requesterName?: string;
  /** Where the command was used: the card goes here when the guild has no requests channel. */
  channelId: string;
  title: string;
  text?: string;
  file?: { bytes: Buffer; name: string };
  options: Omit<SpeakOptions, "text">;
  uploadLimit?: number;
  /** A multi-voice script's speakers and voices (see src/text/script.ts). */
  voices?: string;
}

export async function submitRequest(
  ctx: RequestContext,
  pump: Pump,
  req: SubmitRequest,
): Promise<NarrationRequestRecord> {
  const { store, cards, logger, now } = ctx;
  const title = req.title.trim();
  if (title === "") throw new UserFacingError("Give your request a title.");
  if (title.length > MAX_TITLE_LENGTH) {
    throw new UserFacingError(`The title is too long (at most ${MAX_TITLE_LENGTH} characters).`);
  }
  const format = req.options.format ?? "mp3";
  if (!(NARRATE_FORMATS as readonly string[]).includes(format)) {
    throw new UserFacingError("Narrations come as mp3 or flac. Please pick one of those formats.");
  }
  const { input, chars } = prepare(req);
  if (storyScriptOf(req)) {
    // Its voices are checked now, so an unknown one is refused to the requester at once rather than
    // failing the request once a moderator approves it.
    await ctx.narration.checkStory({
      actor: { userId: req.requesterId, guildId: req.guildId, roleIds: [], isManager: false },
      text: req.text,
      file: req.file,
      options: req.options,
      voices: req.voices,
    });
  }
  const settings = await ctx.guildSettings.get(req.guildId);
  assertMayRequest(settings, { roleIds: [], isManager: false }, { command: "narrate", chars });
  const mine = (await store.listOpen(req.guildId)).filter((r) => r.requesterId === req.requesterId);
  if (mine.length >= MAX_OPEN_PER_REQUESTER) {
    throw new UserFacingError(
      `You already have ${mine.length} open requests; wait for some to finish or cancel one.`,
    );
  }
  const t = now();
  let request = await store.put({
    id: store.newId(),
    guildId: req.guildId,
    requesterId: req.requesterId,
    requesterName: req.requesterName,
    title,
    input,
    chars,
    options: req.options,
    uploadLimit: req.uploadLimit,
    state: settings.requests.approvalRequired ? "pending" : "approved",
    upvoters: [],
    cardChannelId: settings.channels.requests ?? req.channelId,
    createdAt: t,
    updatedAt: t,
    approvedAt: settings.requests.approvalRequired ? undefined : t,
  });
  try {
    const cardMessageId = await cards.post(request);
    request = (await store.update(request.id, (cur) => cur && { ...cur, cardMessageId })) ?? request;
  } catch (err) {
    logger.warn({ requestId: request.id, err }, "could not post a request card");
    await store.update(request.id, (cur) =>
      cur && !isFinalRequest(cur.state)
        ? { ...cur, state: "cancelled", error: "The card could not be posted.", finishedAt: now() }
        : undefined,
    );
    throw new UserFacingError(
      `I could not post the request in ${channelMention(request.cardChannelId ?? req.channelId)}. ` +
        "Ask a server admin to let me view and send messages there.",
    );
  }
  if (request.state === "approved") {
    await pump(request.guildId);
    return (await store.get(request.id)) ?? request;
  }
  return request;
}

/**
 * The text, or the attached .txt/.zip, checked and prepared as it will be narrated. A multi-voice
 * script is stored in canonical form (its voices in an `@voices` header), so the narration that starts
 * from it later is the same story; its characters are the spoken ones.
 */
function prepare(req: SubmitRequest): { input: RequestInput; chars: number } {
  const story = storyScriptOf(req);
  if (story) {
    if (req.options.format === "flac") {
      throw new UserFacingError("Multi-voice stories come as mp3. Leave out the format, or pick mp3.");
    }
    const chars = story.runs.reduce((n, run) => n + prepareTextInput(run.text).chars, 0);
    return { input: { kind: "text", text: formatScript(story) }, chars };
  }
  if (req.file) {
    const prepared = prepareFileInput(req.file.bytes, req.file.name);
    const { fileName, contentBase64 } = prepared.input;
    if (!contentBase64) throw new UserFacingError("That file could not be read.");
    return { input: { kind: "file", fileName, contentBase64 }, chars: prepared.chars };
  }
  if (req.text !== undefined) {
    const prepared = prepareTextInput(req.text);
    return { input: { kind: "text", text: prepared.input.text }, chars: prepared.chars };
  }
  throw new UserFacingError("Give a text or attach a .txt or .zip file for your request.");
}
