import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  RESTPostAPIContextMenuApplicationCommandsJSONBody,
  StringSelectMenuInteraction,
  UserContextMenuCommandInteraction,
} from "discord.js";
import type { CommandAccess } from "./access.ts";
import type { BotContext } from "./context.ts";

/** The interactions a command's `execute` can receive: a slash command or a context menu command. */
export type CommandInteraction =
  | ChatInputCommandInteraction
  | MessageContextMenuCommandInteraction
  | UserContextMenuCommandInteraction;

/** The message components a command's `component` handler receives. */
export type ComponentInteraction = ButtonInteraction | StringSelectMenuInteraction;

/**
 * The builder of a command, as the registry needs it. Its JSON kind follows the interaction: a
 * SlashCommandBuilder for slash commands, a ContextMenuCommandBuilder for context menus, so a module
 * cannot pair one with the other's handler.
 */
export interface CommandData<I extends CommandInteraction = CommandInteraction> {
  readonly name: string;
  toJSON(): I extends ChatInputCommandInteraction
    ? RESTPostAPIChatInputApplicationCommandsJSONBody
    : RESTPostAPIContextMenuApplicationCommandsJSONBody;
}

/**
 * The shape of every file in `commands/`: `export default { data, access?, execute, … } satisfies
 * CommandModule`. `data` is the builder; `access` says who may use it (enforced for every kind of
 * interaction by `src/discord/access.ts` before any handler runs); the handlers stay thin. Handlers get
 * their services passed in (`ctx`), never import singletons, so a test can hand them fakes.
 *
 * `I` is the interaction `execute` receives: slash commands by default; a message context menu writes
 * `satisfies CommandModule<MessageContextMenuCommandInteraction>`.
 *
 * Components and modals are routed by their custom id: `<command name>:<action>[:<args>…]` (built with
 * `customId`, read with `parseCustomId`), so the command that created a button also handles its clicks.
 */
export interface CommandModule<I extends CommandInteraction = ChatInputCommandInteraction, Ctx = BotContext> {
  data: CommandData<I>;
  access?: CommandAccess;
  execute(interaction: I, ctx: Ctx): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: Ctx): Promise<void>;
  component?(interaction: ComponentInteraction, ctx: Ctx): Promise<void>;
  modal?(interaction: ModalSubmitInteraction, ctx: Ctx): Promise<void>;
}

/** Any command module, whatever interaction its `execute` takes: what the registry holds. */
export type AnyCommandModule<Ctx = BotContext> = CommandModule<CommandInteraction, Ctx>;

/** Builds and splits component custom ids (`name:action:arg…`, at most 100 characters). */
export function customId(command: string, action: string, ...args: (string | number)[]): string {
  const id = [command, action, ...args.map(String)].join(":");
  if (id.length > 100) throw new RangeError(`custom id too long: ${id.length} characters`);
  return id;
}

export function parseCustomId(id: string): { command: string; action: string; args: string[] } {
  const [command = "", action = "", ...args] = id.split(":");
  return { command, action, args };
}

export { UserFacingError } from "../user-facing-error.ts";
