import {
  type AutocompleteInteraction,
  DiscordAPIError,
  type Interaction,
  RESTJSONErrorCodes,
  type RepliableInteraction,
} from "discord.js";
import type { Logger } from "../logger.ts";
import { describeTtsError, TtsError } from "../speech/errors.ts";
import { isStorageFailure } from "../storage/storage.ts";
import { type AccessContext, AccessDeniedError, enforceAccess } from "./access.ts";
import { type AnyCommandModule, parseCustomId, UserFacingError } from "./command.ts";
import type { CommandRegistry } from "./registry.ts";
import {
  GENERIC_ERROR_MESSAGE,
  guardAcknowledgement,
  RESTARTING_MESSAGE,
  respondError,
  STORAGE_UNAVAILABLE_MESSAGE,
  UNAVAILABLE_MESSAGE,
} from "./reply.ts";

export type InteractionKind = "command" | "autocomplete" | "component" | "modal";
export type InteractionOutcome =
  | "ok"
  | "user_error"
  | "provider_error"
  | "storage_error"
  | "error"
  | "rejected";

export interface DispatcherOptions<Ctx> {
  registry: Pick<CommandRegistry<Ctx>, "commands">;
  ctx: Ctx;
  logger: Logger;
  /** Milliseconds clock for latencies; tests may pin it. */
  now?: () => number;
  /**
   * How long an autocomplete handler may take before an empty list is sent instead. Discord gives
   * 3 s from its side; 2.5 s leaves room for the network.
   */
  autocompleteBudgetMs?: number;
  /**
   * How long a command, component or modal handler may go without acknowledging before the
   * dispatcher defers for it (see `guardAcknowledgement`). Discord's window is 3 s from its side;
   * 2.2 s leaves room for the gateway's delivery and the deferral's own round trip.
   */
  deferAfterMs?: number;
}

export interface Dispatcher {
  /** Routes one interaction and answers it whatever happens; never rejects. */
  handle(interaction: Interaction): Promise<void>;
  /** Stops accepting, then waits for running handlers, at most `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  /** From now on, new interactions get "the bot is restarting". */
  stopAccepting(): void;
  inFlight(): number;
}

export const UNAVAILABLE_CONTROL_MESSAGE =
  "This button or form is no longer available; run the command again.";

interface Route {
  kind: InteractionKind;
  command: string;
  /** Absent when no loaded command handles it (renamed, removed, or an older build's button). */
  run: (() => Promise<void>) | undefined;
}

interface Result {
  outcome: InteractionOutcome;
  reason?: string;
  err?: unknown;
  /** The dispatcher acknowledged for a slow handler. */
  autoDeferred?: boolean;
  level: "info" | "warn" | "error";
}

/**
 * Turns every interaction into exactly one handler call, one answer (handlers that fail still get
 * their user a message) and one "interaction" log line. Before any handler runs, the command's
 * `access` declaration is enforced (`access.ts`); a refusal is answered privately and logged as
 * rejected. The checks read the server's settings and voice session from `ctx`.
 */
export function createDispatcher<Ctx extends AccessContext>(opts: DispatcherOptions<Ctx>): Dispatcher {
  const { registry, ctx, logger } = opts;
  const now = opts.now ?? (() => performance.now());
  const autocompleteBudgetMs = opts.autocompleteBudgetMs ?? 2500;
  const deferAfterMs = opts.deferAfterMs ?? 2200;
  const pending = new Set<Promise<void>>();
  let accepting = true;

  /** A handler run behind its command's access rules; undefined when there is no handler. */
  function guarded(
    interaction: Interaction,
    command: AnyCommandModule<Ctx> | undefined,
    handler: (() => Promise<void>) | undefined,
  ): (() => Promise<void>) | undefined {
    if (!command || !handler) return undefined;
    return async () => {
      await enforceAccess(interaction, command.access, ctx);
      await handler();
    };
  }

  function route(interaction: Interaction): Route | undefined {
    if (
      interaction.isChatInputCommand() ||
      interaction.isMessageContextMenuCommand() ||
      interaction.isUserContextMenuCommand()
    ) {
      const command = registry.commands.get(interaction.commandName);
      const run = guarded(interaction, command, command && (() => command.execute(interaction, ctx)));
      return { kind: "command", command: interaction.commandName, run };
    }
    if (interaction.isAutocomplete()) {
      const command = registry.commands.get(interaction.commandName);
      const handler = command?.autocomplete?.bind(command);
      const run = guarded(interaction, command, handler && (() => handler(interaction, ctx)));
      return { kind: "autocomplete", command: interaction.commandName, run };
    }
    if (interaction.isButton() || interaction.isStringSelectMenu()) {
      const name = parseCustomId(interaction.customId).command;
      const command = registry.commands.get(name);
      const handler = command?.component?.bind(command);
      const run = guarded(interaction, command, handler && (() => handler(interaction, ctx)));
      return { kind: "component", command: name, run };
    }
    if (interaction.isModalSubmit()) {
      const name = parseCustomId(interaction.customId).command;
      const command = registry.commands.get(name);
      const handler = command?.modal?.bind(command);
      const run = guarded(interaction, command, handler && (() => handler(interaction, ctx)));
      return { kind: "modal", command: name, run };
    }
    // Kinds no command module can handle yet (user/role/channel selects, entry-point commands) are
    // still answered, so the user is not left with "the application did not respond".
    if (interaction.isMessageComponent()) {
      return { kind: "component", command: parseCustomId(interaction.customId).command, run: undefined };
    }
    if (interaction.isCommand()) return { kind: "command", command: interaction.commandName, run: undefined };
    return undefined;
  }

  async function dispatch(interaction: Interaction): Promise<void> {
    const started = now();
    const target = route(interaction);
    if (!target) {
      logger.debug(
        { type: interaction.type, interaction: interaction.id },
        "ignored unsupported interaction",
      );
      return;
    }
    const context = { kind: target.kind, command: target.command, ...contextOf(interaction) };
    let result: Result;
    if (!accepting) {
      result = await reject(interaction, RESTARTING_MESSAGE, "shutting_down", context);
    } else if (!target.run) {
      const message = target.kind === "command" ? UNAVAILABLE_MESSAGE : UNAVAILABLE_CONTROL_MESSAGE;
      result = await reject(interaction, message, "unknown_command", context);
    } else if (interaction.isAutocomplete()) {
      result = await runAutocomplete(interaction, target.run, context);
    } else if (interaction.isRepliable()) {
      result = await runHandler(interaction, target.run, context);
    } else {
      return;
    }
    const { level, ...rest } = result;
    logger[level]({ ...context, latencyMs: Math.round(now() - started), ...rest }, "interaction");
  }

  async function runHandler(
    interaction: RepliableInteraction,
    run: () => Promise<void>,
    context: Record<string, unknown>,
  ): Promise<Result> {
    const guard = guardAcknowledgement(interaction, {
      afterMs: deferAfterMs,
      onDeferFailed: (err) => logger.warn({ ...context, err }, "could not defer a slow interaction"),
    });
    const marked = (result: Result): Result =>
      guard.autoDeferred ? { ...result, autoDeferred: true } : result;
    try {
      // Through an async wrapper so a handler that throws synchronously is caught like one that rejects.
      await (async () => run())();
    } catch (err) {
      guard.stop();
      await guard.settled();
      const failure = classify(err);
      // Discord forgot this interaction (not acknowledged within 3 s): any answer would fail the same way.
      const expired = err instanceof DiscordAPIError && err.code === RESTJSONErrorCodes.UnknownInteraction;
      if (!expired) await answer(interaction, failure.message, context);
      return marked(failure.result);
    }
    guard.stop();
    await guard.settled();
    // Without an acknowledgement Discord shows "the application did not respond", and after an
    // automatic deferral the member would watch "thinking…" forever; say something useful.
    const unanswered = !interaction.deferred && !interaction.replied;
    if (unanswered || (guard.autoDeferred && !guard.handlerResponded)) {
      await answer(interaction, GENERIC_ERROR_MESSAGE, context);
      return marked({ outcome: "error", reason: "handler returned without answering", level: "error" });
    }
    return marked({ outcome: "ok", level: "info" });
  }

  async function runAutocomplete(
    interaction: AutocompleteInteraction,
    run: () => Promise<void>,
    context: Record<string, unknown>,
  ): Promise<Result> {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // Through an async wrapper so a handler that throws synchronously is caught like one that rejects.
    const work = (async () => run())();
    // The handler may finish (or fail) after the budget; that late outcome is only worth a debug line.
    work.catch((err: unknown) => {
      if (timedOut) logger.debug({ ...context, err }, "autocomplete handler failed after its time budget");
    });
    let failed = false;
    let failure: unknown;
    try {
      await Promise.race([
        work,
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            timedOut = true;
            resolve();
          }, autocompleteBudgetMs);
        }),
      ]);
    } catch (err) {
      failed = true;
      failure = err;
    } finally {
      clearTimeout(timer);
    }
    const responded = interaction.responded;
    // Suggestions are a convenience: on any problem the user gets an empty list, never an error message.
    if (!responded) await respondEmpty(interaction, context);
    if (failed) return classify(failure).result;
    if (responded) return { outcome: "ok", level: "info" };
    return { outcome: "error", reason: timedOut ? "timed out" : "handler did not respond", level: "warn" };
  }

  async function reject(
    interaction: Interaction,
    message: string,
    reason: string,
    context: Record<string, unknown>,
  ): Promise<Result> {
    if (interaction.isAutocomplete()) await respondEmpty(interaction, context);
    else if (interaction.isRepliable()) await answer(interaction, message, context);
    return { outcome: "rejected", reason, level: reason === "unknown_command" ? "warn" : "info" };
  }

  async function answer(
    interaction: RepliableInteraction,
    message: string,
    context: Record<string, unknown>,
  ) {
    try {
      await respondError(interaction, message);
    } catch (err) {
      // Typically an expired token (10062) or an interaction answered elsewhere; nothing left to tell the user.
      logger.warn({ ...context, err }, "could not answer the interaction");
    }
  }

  async function respondEmpty(interaction: AutocompleteInteraction, context: Record<string, unknown>) {
    try {
      await interaction.respond([]);
    } catch (err) {
      logger.debug({ ...context, err }, "could not send the empty autocomplete list");
    }
  }

  return {
    handle(interaction) {
      const task = dispatch(interaction).catch((err: unknown) => {
        logger.error({ err, interaction: interaction.id }, "interaction dispatch failed");
      });
      pending.add(task);
      void task.finally(() => pending.delete(task));
      return task;
    },
    async drain(timeoutMs) {
      accepting = false;
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, timeoutMs);
      });
      try {
        // Loop: "restarting" answers to interactions that arrive while draining are tracked too.
        while (pending.size > 0 && !timedOut) {
          await Promise.race([Promise.all([...pending]), deadline]);
        }
      } finally {
        clearTimeout(timer);
      }
      if (pending.size > 0) {
        logger.warn({ abandoned: pending.size, timeoutMs }, "shutdown: abandoning unfinished interactions");
      }
    },
    stopAccepting() {
      accepting = false;
    },
    inFlight: () => pending.size,
  };
}

/** Maps a handler error to what the user reads and how loudly it is logged. */
function classify(err: unknown): { message: string; result: Result } {
  if (err instanceof AccessDeniedError) {
    return {
      message: err.message,
      result: { outcome: "rejected", reason: `access: ${err.requirement}`, level: "info" },
    };
  }
  if (err instanceof UserFacingError) {
    return { message: err.message, result: { outcome: "user_error", reason: err.message, level: "info" } };
  }
  if (isStorageFailure(err)) {
    return {
      message: STORAGE_UNAVAILABLE_MESSAGE,
      result: { outcome: "storage_error", err, level: "error" },
    };
  }
  if (err instanceof TtsError) {
    // Key, balance and provider failures need the operator; the rest are the user's text or a busy service.
    const operator = err.kind === "auth" || err.kind === "balance" || err.kind === "upstream";
    return {
      message: describeTtsError(err),
      result: { outcome: "provider_error", err, level: operator ? "error" : "warn" },
    };
  }
  return { message: GENERIC_ERROR_MESSAGE, result: { outcome: "error", err, level: "error" } };
}

function contextOf(interaction: Interaction): Record<string, unknown> {
  const context: Record<string, unknown> = {
    guild: interaction.guildId,
    channel: interaction.channelId,
    user: interaction.user.id,
    interaction: interaction.id,
  };
  if (interaction.isChatInputCommand() || interaction.isAutocomplete()) {
    const group = interaction.options.getSubcommandGroup(false);
    const sub = interaction.options.getSubcommand(false);
    if (sub) context.subcommand = group ? `${group} ${sub}` : sub;
  }
  if (interaction.isAutocomplete()) context.option = focusedOptionName(interaction);
  if (interaction.isMessageComponent() || interaction.isModalSubmit())
    context.customId = interaction.customId;
  return context;
}

function focusedOptionName(interaction: AutocompleteInteraction): string | undefined {
  try {
    return interaction.options.getFocused(true).name;
  } catch {
    // discord.js throws when no option is marked focused; only a malformed payload does that.
    return undefined;
  }
}
