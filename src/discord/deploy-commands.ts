import { parseArgs } from "node:util";
import { REST, Routes } from "discord.js";
import { z } from "zod";
import {
  type Config,
  ConfigError,
  configSecrets,
  loadConfig,
  loadConfigOrExit,
  parseConfig,
} from "../config.ts";
import { createLogger, type Logger } from "../logger.ts";
import { createStorage } from "../storage/storage.ts";
import { explainDiscordError } from "./client.ts";
import {
  type CommandSyncState,
  type CommandsRest,
  keyvSyncState,
  type SyncResult,
  syncCommands,
} from "./register-commands.ts";
import { loadCommands } from "./registry.ts";

/**
 * `npm run deploy-commands [-- --force]`: registers the commands in `commands/` with Discord, to
 * DISCORD_GUILD_ID when set (instant, for development), otherwise globally. Nothing is sent when the
 * set is unchanged since the last deployment, unless `--force`.
 */

const USAGE = `Usage: npm run deploy-commands [-- --force]

Registers the bot's slash and context-menu commands with Discord: to DISCORD_GUILD_ID when it is set,
otherwise globally. Reads the same environment (.env) as the bot; only DISCORD_TOKEN is required.

  --force   register even when the commands have not changed since the last deployment
  --help    show this help
`;

const ApplicationSchema = z.object({ id: z.string().min(1), name: z.string().optional() });

export interface DeployOptions {
  rest: CommandsRest;
  guildId: string | undefined;
  commandsDir: string | URL;
  state: CommandSyncState;
  logger: Logger;
  force: boolean;
}

export interface DeployResult extends SyncResult {
  applicationId: string;
  applicationName: string | undefined;
  names: string[];
}

export async function deployCommands(opts: DeployOptions): Promise<DeployResult> {
  const registry = await loadCommands(opts.commandsDir);
  const definitions = registry.definitions();
  if (definitions.length === 0 && !opts.force) {
    // A bulk overwrite with an empty list deletes every command; that should never happen by accident.
    throw new Error(
      "No command files were found, so deploying would remove every command. Use --force to do that.",
    );
  }
  const app = ApplicationSchema.parse(await opts.rest.get(Routes.currentApplication()));
  const result = await syncCommands({
    rest: opts.rest,
    applicationId: app.id,
    guildId: opts.guildId,
    definitions,
    state: opts.state,
    logger: opts.logger,
    force: opts.force,
    // A manual deployment can afford one GET to notice commands removed behind our back.
    verify: true,
  });
  return {
    ...result,
    applicationId: app.id,
    applicationName: app.name,
    names: definitions.map((d) => d.name),
  };
}

/**
 * The bot's configuration, minus the TTS provider key: deploying commands never talks to the provider,
 * so a missing MINIMAX_API_KEY / AIMLAPI_API_KEY is not worth refusing over. Every other problem is
 * reported exactly as `npm start` reports it.
 */
export function loadDeployConfig(): Config {
  try {
    return loadConfig({ requireDiscordToken: true });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const providerKeys = new Set(["MINIMAX_API_KEY", "AIMLAPI_API_KEY"]);
    const others = err.problems.filter((p) => !providerKeys.has(p.variable));
    if (others.length > 0) throw new ConfigError(others);
    // loadConfig has read .env into process.env by now; fill only the key the schema insists on.
    const placeholder = "unused-by-deploy-commands";
    return parseConfig(
      { ...process.env, MINIMAX_API_KEY: placeholder, AIMLAPI_API_KEY: placeholder },
      { requireDiscordToken: true },
    );
  }
}

function describe(result: DeployResult): string {
  const where = result.scope === "global" ? "globally" : `to guild ${result.scope.slice("guild:".length)}`;
  const app = result.applicationName
    ? `${result.applicationName} (${result.applicationId})`
    : result.applicationId;
  const list = result.names.length > 0 ? `: ${result.names.join(", ")}` : "";
  if (result.changed) return `Registered ${result.count} command(s) ${where} for ${app}${list}\n`;
  return (
    `The ${result.count} command(s) registered ${where} for ${app} are already up to date${list}\n` +
    "Nothing was sent. Use --force to register them anyway.\n"
  );
}

async function main(): Promise<void> {
  let force: boolean;
  try {
    const { values } = parseArgs({
      options: { force: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return;
    }
    force = values.force;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }

  const config = loadConfigOrExit(loadDeployConfig);
  const logger = createLogger({
    level: config.logLevel,
    secrets: configSecrets(config),
    pretty: config.nodeEnv === "development",
  });
  const rest = new REST({ api: config.discord.apiUrl }).setToken(config.discord.token ?? "");
  // The same storage as the bot: it then knows this set is registered and does not send it again.
  const storage = await createStorage(config.storageUrl, { logger });
  try {
    const result = await deployCommands({
      rest,
      guildId: config.discord.guildId,
      commandsDir: new URL("../../commands/", import.meta.url),
      state: keyvSyncState(storage.keyv<string>("meta")),
      logger,
      force,
    });
    process.stdout.write(describe(result));
  } catch (err) {
    // A refused token or an unreachable DISCORD_API_URL: the same one line as `npm start` prints.
    throw explainDiscordError(err, { apiUrl: config.discord.apiUrl }) ?? err;
  } finally {
    await storage.close();
  }
}

if (import.meta.main) {
  main().then(
    // REST keeps pooled connections open for a while; a one-shot script should not wait for them.
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(
        `Could not deploy the commands: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
