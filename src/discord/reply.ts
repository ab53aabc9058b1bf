import {
  type InteractionReplyOptions,
  MessageFlags,
  MessageFlagsBitField,
  type MessageMentionOptions,
  type RepliableInteraction,
} from "discord.js";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * Nobody gets pinged by what a user typed. The client sets this as its default (`client.ts`), and
 * discord.js applies the default to interaction replies, edits, follow-ups and channel sends alike,
 * so handlers do not repeat it; pass it only where a message must differ from the default.
 */
export const NO_PINGS: MessageMentionOptions = Object.freeze({ parse: [] });

export const GENERIC_ERROR_MESSAGE = "Something went wrong on our side; it has been logged.";
export const UNAVAILABLE_MESSAGE = "This command is no longer available.";
export const RESTARTING_MESSAGE = "The bot is restarting; please try again in a moment.";
export const STORAGE_UNAVAILABLE_MESSAGE = "Storage is unavailable right now; please try again in a minute.";
/** A form can only open as the first answer; after an automatic deferral it is too late. */
export const FORM_TOO_LATE_MESSAGE = "That took too long to open the form; please try again.";

/** How an answer reached Discord, for logs and tests. */
export type AnswerMethod = "reply" | "editReply" | "followUp";

/** A private answer: a text, or a message with embeds, files or components. */
export type EphemeralMessage =
  | string
  | Pick<InteractionReplyOptions, "content" | "embeds" | "files" | "components">;

/**
 * Sends a private answer whatever state the interaction is in:
 * - not acknowledged yet → `reply`, ephemeral;
 * - acknowledged by an ephemeral `deferReply` and not edited since → `editReply`, replacing the
 *   private "thinking…" placeholder; a public placeholder is deleted and the answer follows privately;
 * - anything else → an ephemeral `followUp`: after a real answer, editing would destroy what the user
 *   already got (say, the audio), and after `deferUpdate` it would overwrite the message holding the
 *   button.
 * Content longer than Discord takes is cut (`fitMessage`) rather than refused.
 */
export async function answerEphemeral(
  interaction: RepliableInteraction,
  message: EphemeralMessage,
): Promise<AnswerMethod> {
  const body = typeof message === "string" ? { content: message } : { ...message };
  if (typeof body.content === "string") body.content = fitMessage(body.content);
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply({ ...body, flags: MessageFlags.Ephemeral });
    return "reply";
  }
  if (interaction.deferred && !interaction.replied && interaction.ephemeral === true) {
    await interaction.editReply(body);
    return "editReply";
  }
  if (interaction.deferred && !interaction.replied && interaction.ephemeral === false) {
    // A public "thinking…" placeholder: remove it, so the reason stays private instead of replacing
    // the placeholder in front of everyone.
    await interaction.deleteReply().catch(() => undefined);
  }
  await interaction.followUp({ ...body, flags: MessageFlags.Ephemeral });
  return "followUp";
}

/** A private answer for handlers' normal results (confirmations, refusals, lists, files). */
export async function replyEphemeral(
  interaction: RepliableInteraction,
  message: EphemeralMessage,
): Promise<void> {
  await answerEphemeral(interaction, message);
}

/** Error answers, same choice of method; kept separate so error styling can change in one place. */
export async function respondError(
  interaction: RepliableInteraction,
  message: string,
): Promise<AnswerMethod> {
  return answerEphemeral(interaction, message);
}

/**
 * Shows a progress note (say, a place in line) in place of a deferred reply's "thinking…"
 * placeholder, without it counting as the answer: it edits `@original` through the interaction's
 * webhook, so `interaction.replied` stays false and whatever answers next — `editReply` with the
 * result, or `answerEphemeral` with an error (which replaces a private placeholder and removes a
 * public one) — still treats the reply as a placeholder. Does nothing once the interaction was
 * answered, or when it was not deferred with `deferReply`.
 */
export async function showProgress(interaction: RepliableInteraction, text: string): Promise<void> {
  // `ephemeral` is set by `deferReply` only: after `deferUpdate`, `@original` is the message holding
  // the component, which a progress note must not overwrite.
  if (!interaction.deferred || interaction.replied || typeof interaction.ephemeral !== "boolean") return;
  await interaction.webhook.editMessage("@original", { content: fitMessage(text) });
}

/**
 * Acknowledges the interaction while `work` already runs, so the deferral's round trip to Discord is
 * not paid before the work starts (for /speak: the planner, the cache and the synthesis request). The
 * work's result or error is taken only once the deferral is done, so what follows edits an
 * acknowledged interaction exactly as before. If the deferral fails (the interaction expired), the
 * work still finishes on its own (a reservation settles, audio lands in the cache, so a retry is free)
 * and the deferral's error is thrown.
 */
export async function deferWhile<T>(
  interaction: RepliableInteraction,
  ephemeral: boolean,
  work: () => Promise<T>,
): Promise<T> {
  const acknowledged = interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  const running = work();
  // Observed below; this only keeps a failure during the deferral from being reported as unhandled.
  running.catch(() => undefined);
  await acknowledged;
  return await running;
}

/** Discord's message content limit. */
export const MAX_CONTENT_LENGTH = 2000;

/** A longer content is refused outright, which would turn an error answer into no answer at all. */
export function fitMessage(text: string): string {
  return text.length <= MAX_CONTENT_LENGTH ? text : `${text.slice(0, MAX_CONTENT_LENGTH - 1)}…`;
}

/** Where Discord's 3-second window is handled for one interaction; see `guardAcknowledgement`. */
export interface AcknowledgementGuard {
  /** The guard acknowledged the interaction itself (the handler was too slow). */
  readonly autoDeferred: boolean;
  /** The handler called a response method (reply, deferReply, update, deferUpdate, showModal, editReply, followUp). */
  readonly handlerResponded: boolean;
  /** Stops the timer (the handler settled); an automatic deferral already sent is kept. */
  stop(): void;
  /** Settles once an automatic deferral in flight has completed (or failed). */
  settled(): Promise<void>;
}

export interface AcknowledgementGuardOptions {
  /** How long the handler has to acknowledge before the guard defers for it. */
  afterMs: number;
  /** The automatic deferral failed (the interaction expired meanwhile, the network…). */
  onDeferFailed?: (err: unknown) => void;
}

type AnyMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * Keeps the member from ever seeing "The application did not respond": when the handler has not
 * acknowledged the interaction after `afterMs` (a storage read hangs, say), the interaction is
 * deferred for it — commands and modal submits with a private "thinking…" (`deferReply`, ephemeral),
 * buttons and selects with `deferUpdate`, which changes nothing on screen and keeps both kinds of
 * later answer possible.
 *
 * The handler does not need to know: this is the one place that routes its later calls.
 * After an automatic `deferReply`: `reply` and `update` edit the placeholder (`editReply`), a
 * `deferReply`/`deferUpdate` is a no-op. After an automatic `deferUpdate`: `update` edits the message
 * (`editReply` targets it), `reply` becomes a follow-up (ephemeral when asked), and `deferReply`
 * posts a follow-up placeholder that later `editReply` calls edit. `showModal` can only be a first
 * answer, so it fails with a UserFacingError asking to try again.
 */
export function guardAcknowledgement(
  interaction: RepliableInteraction,
  opts: AcknowledgementGuardOptions,
): AcknowledgementGuard {
  const target = interaction as unknown as Record<string, AnyMethod | undefined>;
  const original = (name: string): AnyMethod => {
    const method = target[name];
    if (typeof method !== "function") {
      return async () => {
        throw new TypeError(`${name} is not available on this interaction`);
      };
    }
    return method.bind(interaction) as AnyMethod;
  };
  const orig = {
    reply: original("reply"),
    deferReply: original("deferReply"),
    update: original("update"),
    deferUpdate: original("deferUpdate"),
    showModal: original("showModal"),
    editReply: original("editReply"),
    followUp: original("followUp"),
  };
  const mode: "reply" | "update" = interaction.isMessageComponent() ? "update" : "reply";
  let responded = false;
  /** Resolves true once the automatic deferral was accepted; undefined while none was sent. */
  let auto: Promise<boolean> | undefined;
  let deferredOk = false;
  /** With `mode: "update"`, the follow-up standing in for the handler's own `deferReply`. */
  let placeholderId: string | undefined;

  // Each wrapper marks the handler as responding before anything is awaited, so the timer never
  // sends a second acknowledgement after the handler's own is on its way.
  const wrap = (name: keyof typeof orig, routed: (args: unknown[]) => Promise<unknown>): AnyMethod => {
    return async (...args: unknown[]) => {
      responded = true;
      if (auto === undefined || !(await auto)) return orig[name](...args);
      return routed(args);
    };
  };
  target.reply = wrap("reply", ([options]) =>
    mode === "reply" ? orig.editReply(toEditOptions(options)) : orig.followUp(options),
  );
  target.update = wrap("update", ([options]) => orig.editReply(toEditOptions(options)));
  target.deferUpdate = wrap("deferUpdate", async () => undefined);
  target.deferReply = wrap("deferReply", async ([options]) => {
    if (mode === "reply" || placeholderId !== undefined) return undefined;
    const ephemeral = new MessageFlagsBitField(flagsOf(options)).has(MessageFlags.Ephemeral);
    const message = (await orig.followUp({
      content: "…",
      ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    })) as { id: string };
    placeholderId = message.id;
    return undefined;
  });
  target.showModal = wrap("showModal", async () => {
    throw new UserFacingError(FORM_TOO_LATE_MESSAGE);
  });
  // Only needed for the follow-up placeholder above; otherwise editReply goes where it always went.
  target.editReply = async (...args: unknown[]) => {
    responded = true;
    if (placeholderId === undefined) return orig.editReply(...args);
    const options = typeof args[0] === "string" ? { content: args[0] } : (args[0] as object);
    return orig.editReply({ ...options, message: placeholderId });
  };

  target.followUp = async (...args: unknown[]) => {
    responded = true;
    return orig.followUp(...args);
  };

  const timer = setTimeout(() => {
    if (responded || interaction.deferred || interaction.replied) return;
    const sent = mode === "reply" ? orig.deferReply({ flags: MessageFlags.Ephemeral }) : orig.deferUpdate();
    auto = sent.then(
      () => {
        deferredOk = true;
        return true;
      },
      (err: unknown) => {
        opts.onDeferFailed?.(err);
        return false;
      },
    );
  }, opts.afterMs);

  return {
    get autoDeferred() {
      return deferredOk;
    },
    get handlerResponded() {
      return responded;
    },
    stop() {
      clearTimeout(timer);
    },
    async settled() {
      await auto;
    },
  };
}

function flagsOf(options: unknown): number {
  if (typeof options !== "object" || options === null) return 0;
  const flags = (options as { flags?: unknown }).flags;
  if (flags === undefined || flags === null) return 0;
  try {
    return new MessageFlagsBitField(flags as number).bitfield;
  } catch {
    // Unknown flag names: let the real call report them.
    return 0;
  }
}

/**
 * `reply`/`update` options as `editReply` options: the ephemeral flag is fixed by the deferral and
 * cannot be sent again, and the response-fetching options do not exist for edits.
 */
function toEditOptions(options: unknown): unknown {
  if (typeof options === "string") return { content: options };
  if (typeof options !== "object" || options === null) return options;
  const {
    flags: _flags,
    withResponse: _withResponse,
    fetchReply: _fetchReply,
    ephemeral: _ephemeral,
    tts: _tts,
    ...rest
  } = options as Record<string, unknown>;
  const remaining = new MessageFlagsBitField(flagsOf(options)).remove(MessageFlags.Ephemeral).bitfield;
  return remaining ? { ...rest, flags: remaining } : rest;
}
