import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIApplicationCommandsJSONBody,
  StringSelectMenuInteraction,
  UserContextMenuCommandInteraction,
} from "discord.js";

/**
 * The shape of every file in `commands/`: a builder (`data`) and a thin handler. Handlers get their
 * services passed in (`ctx`), never import singletons, so a test can hand them fakes.
 *
 * Components and modals are routed by their custom id: `<command name>:<action>[:<args>…]`, so the
 * command that created a button also handles its clicks.
 */
export interface CommandModule<Ctx> {
  data: { name: string; toJSON(): RESTPostAPIApplicationCommandsJSONBody };
  execute(
    interaction:
      | ChatInputCommandInteraction
      | MessageContextMenuCommandInteraction
      | UserContextMenuCommandInteraction,
    ctx: Ctx,
  ): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: Ctx): Promise<void>;
  component?(interaction: ButtonInteraction | StringSelectMenuInteraction, ctx: Ctx): Promise<void>;
  modal?(interaction: ModalSubmitInteraction, ctx: Ctx): Promise<void>;
}

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
