import {
  AttachmentBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  MessageFlags,
  type SlashCommandBuilder,
  type SlashCommandSubcommandsOnlyBuilder,
} from "discord.js";
import { VOICE_DESIGN_LIMITS } from "../providers/minimax/voice-design.ts";
import { DESIGNED_NAME_MAX } from "../voices/designed-store.ts";
import type { DesignActor } from "../voices/designed-voices.ts";
import { type AccessRule, allows } from "./access.ts";
import { actorOf } from "./actor.ts";
import type { BotContext } from "./context.ts";
import { NO_PINGS, replyEphemeral } from "./reply.ts";

/**
 * The designed-voice subcommands of `/voice` (design, design-share, design-delete): their
 * definitions, access rules and thin handlers over `ctx.designedVoices`, kept here so that the
 * `/voice` module only adds them.
 */

export const DESIGN_SUBCOMMANDS = ["design", "design-list", "design-share", "design-delete"] as const;
type DesignSubcommand = (typeof DESIGN_SUBCOMMANDS)[number];

export const isDesignSubcommand = (sub: string): sub is DesignSubcommand =>
  (DESIGN_SUBCOMMANDS as readonly string[]).includes(sub);

/** Checked before the handlers run (see access.ts); the service checks the record's server again. */
export const DESIGN_ACCESS: Readonly<Record<string, AccessRule>> = {
  design: { guildOnly: true },
  "design-list": { guildOnly: true },
  "design-share": { moderator: true },
  "design-delete": { guildOnly: true },
};

const MODERATOR: AccessRule = { moderator: true };

export function addDesignSubcommands<B extends SlashCommandBuilder | SlashCommandSubcommandsOnlyBuilder>(
  builder: B,
): SlashCommandSubcommandsOnlyBuilder {
  return builder
    .addSubcommand((s) =>
      s
        .setName("design")
        .setDescription("Design a new voice from a description, hear it, and keep it under a name")
        .addStringOption((o) =>
          o
            .setName("prompt")
            .setDescription("What the voice sounds like: age, tone, accent, pace…")
            .setRequired(true)
            .setMaxLength(VOICE_DESIGN_LIMITS.promptMaxChars),
        )
        .addStringOption((o) =>
          o
            .setName("preview_text")
            .setDescription("What the trial clip says (billed as characters, like /speak)")
            .setRequired(true)
            .setMaxLength(VOICE_DESIGN_LIMITS.previewTextMaxChars),
        )
        .addStringOption((o) =>
          o
            .setName("name")
            .setDescription("The name you pick it by in /speak")
            .setRequired(true)
            .setMaxLength(DESIGNED_NAME_MAX),
        ),
    )
    .addSubcommand((s) =>
      s
        .setName("design-list")
        .setDescription("The designed voices you can use here: yours and the shared ones"),
    )
    .addSubcommand((s) =>
      s
        .setName("design-share")
        .setDescription("Moderators: let everyone here use one of your designed voices (or stop)")
        .addStringOption((o) =>
          o.setName("voice").setDescription("The designed voice").setRequired(true).setAutocomplete(true),
        )
        .addBooleanOption((o) => o.setName("shared").setDescription("Shared with the server (default: yes)")),
    )
    .addSubcommand((s) =>
      s
        .setName("design-delete")
        .setDescription("Delete one of your designed voices (here and at the speech provider)")
        .addStringOption((o) =>
          o.setName("voice").setDescription("The designed voice").setRequired(true).setAutocomplete(true),
        ),
    );
}

async function designActor(
  interaction: ChatInputCommandInteraction | AutocompleteInteraction,
  ctx: BotContext,
): Promise<DesignActor> {
  const actor = actorOf(interaction);
  // Moderator as /settings defines it: Manage Server, or the server's moderator role.
  return { ...actor, isModerator: await allows(interaction, MODERATOR, ctx) };
}

export async function executeDesign(
  sub: DesignSubcommand,
  interaction: ChatInputCommandInteraction,
  ctx: BotContext,
): Promise<void> {
  const actor = await designActor(interaction, ctx);
  if (sub === "design") {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const { voice, trial } = await ctx.designedVoices.design({
      actor,
      name: interaction.options.getString("name", true),
      prompt: interaction.options.getString("prompt", true),
      previewText: interaction.options.getString("preview_text", true),
    });
    await interaction.editReply({
      content:
        `🎨 Your new voice **${voice.name}** is ready; here is its trial clip. Pick it in \`/speak voice:\` ` +
        `(it is listed under its name), or save it with \`/voice set\`. Use it for speech within 7 days: ` +
        "MiniMax may drop a designed voice that was never used.",
      files: [new AttachmentBuilder(trial, { name: "designed-voice-trial.mp3" })],
      allowedMentions: NO_PINGS,
    });
    return;
  }
  if (sub === "design-list") {
    const guildId = interaction.guildId ?? "";
    const voices = await ctx.designedVoices.usable(guildId, actor.userId);
    const lines = voices.map((v) => {
      const whose = v.ownerId === actor.userId ? "yours" : `by <@${v.ownerId}>`;
      return `🎨 **${v.name}** · ${whose}${v.shared ? " · shared" : ""} · \`${v.voiceId}\``;
    });
    await replyEphemeral(
      interaction,
      lines.length > 0
        ? `Designed voices you can use here:\n${lines.join("\n")}`
        : "You have no designed voices here yet. Make one with `/voice design`.",
    );
    return;
  }
  const ref = interaction.options.getString("voice", true);
  if (sub === "design-share") {
    const shared = interaction.options.getBoolean("shared") ?? true;
    const voice = await ctx.designedVoices.share(actor, ref, shared);
    await replyEphemeral(
      interaction,
      shared
        ? `**${voice.name}** is shared: everyone here can pick it in /speak.`
        : `**${voice.name}** is no longer shared; only its owner can use it.`,
    );
    return;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const voice = await ctx.designedVoices.delete(actor, ref);
  await replyEphemeral(interaction, `Deleted the designed voice **${voice.name}**.`);
}

/** The `voice` option of design-share and design-delete. */
export async function completeDesign(
  sub: DesignSubcommand,
  interaction: AutocompleteInteraction,
  ctx: BotContext,
): Promise<void> {
  const guildId = interaction.guildId;
  if (!guildId) {
    await interaction.respond([]);
    return;
  }
  const query = interaction.options.getFocused();
  const actor = await designActor(interaction, ctx);
  if (sub === "design-delete") {
    await interaction.respond(await ctx.designedVoices.deletable(actor, query));
    return;
  }
  const mine = await ctx.designedVoices.choices(guildId, actor.userId, query);
  await interaction.respond(mine);
}
