import { errors } from "./errors.ts";
import { json, jsonBody, noContent, type Route, type RouteContext } from "./router.ts";
import { apiChannel, apiUser } from "./serialize.ts";

/** Gateway discovery, users, the application, DM channels and application command registration. */

function checkApp(ctx: RouteContext): void {
  if (ctx.params.app !== ctx.state.world.applicationId) throw errors.unknownApplication();
}

function checkGuild(ctx: RouteContext): string {
  const guildId = ctx.params.guild!;
  if (guildId !== ctx.state.world.guild.id) throw errors.missingAccess();
  return guildId;
}

function applicationObject(ctx: RouteContext) {
  const world = ctx.state.world;
  const bot = apiUser(world, world.botId);
  return {
    id: world.applicationId,
    name: world.applicationName,
    icon: null,
    description: "",
    summary: "",
    type: null,
    hook: true,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: "0".repeat(64),
    flags: ctx.state.opts.applicationFlags,
    owner: apiUser(world, world.guild.ownerId),
    team: null,
    bot,
    approximate_guild_count: 1,
    approximate_user_install_count: 0,
    interactions_endpoint_url: null,
    redirect_uris: [],
    integration_types_config: { "0": {}, "1": {} },
    install_params: { scopes: ["bot", "applications.commands"], permissions: "0" },
    tags: [],
  };
}

function scopeOf(ctx: RouteContext): string {
  checkApp(ctx);
  return ctx.params.guild ? checkGuild(ctx) : "global";
}

const commandRoutes = (prefix: string): Route[] => [
  {
    method: "GET",
    pattern: `${prefix}/commands`,
    auth: "bot",
    handle: (ctx) => json(200, ctx.state.commands.list(scopeOf(ctx))),
  },
  {
    method: "PUT",
    pattern: `${prefix}/commands`,
    auth: "bot",
    handle: (ctx) => json(200, ctx.state.commands.bulkOverwrite(scopeOf(ctx), jsonBody(ctx.req))),
  },
  {
    method: "POST",
    pattern: `${prefix}/commands`,
    auth: "bot",
    handle: (ctx) => {
      const { command, created } = ctx.state.commands.create(scopeOf(ctx), jsonBody(ctx.req));
      return json(created ? 201 : 200, command);
    },
  },
  {
    method: "GET",
    pattern: `${prefix}/commands/:command`,
    auth: "bot",
    handle: (ctx) => json(200, ctx.state.commands.get(scopeOf(ctx), ctx.params.command!)),
  },
  {
    method: "PATCH",
    pattern: `${prefix}/commands/:command`,
    auth: "bot",
    handle: (ctx) =>
      json(200, ctx.state.commands.patch(scopeOf(ctx), ctx.params.command!, jsonBody(ctx.req))),
  },
  {
    method: "DELETE",
    pattern: `${prefix}/commands/:command`,
    auth: "bot",
    handle: (ctx) => {
      ctx.state.commands.delete(scopeOf(ctx), ctx.params.command!);
      return noContent();
    },
  },
];

export const appRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/gateway",
    auth: "none",
    handle: (ctx) => json(200, { url: ctx.state.gatewayUrl }),
  },
  {
    method: "GET",
    pattern: "/gateway/bot",
    auth: "bot",
    handle: (ctx) =>
      json(200, {
        url: ctx.state.gatewayUrl,
        shards: 1,
        session_start_limit: {
          total: 1000,
          remaining: ctx.state.sessionStartRemaining,
          reset_after: 14_400_000,
          max_concurrency: 1,
        },
      }),
  },
  {
    method: "GET",
    pattern: "/users/@me",
    auth: "bot",
    handle: (ctx) =>
      json(200, {
        ...apiUser(ctx.state.world, ctx.state.world.botId),
        verified: true,
        mfa_enabled: false,
        email: null,
        locale: "en-US",
      }),
  },
  {
    method: "GET",
    pattern: "/users/:user",
    auth: "bot",
    handle: (ctx) => {
      if (!ctx.state.world.users.has(ctx.params.user!)) throw errors.unknownUser();
      return json(200, apiUser(ctx.state.world, ctx.params.user!));
    },
  },
  {
    method: "POST",
    pattern: "/users/@me/channels",
    auth: "bot",
    handle: (ctx) => {
      const body = (jsonBody(ctx.req) ?? {}) as Record<string, unknown>;
      const world = ctx.state.world;
      const recipient = String(body.recipient_id ?? "");
      if (!world.users.has(recipient)) throw errors.unknownUser();
      let channel = [...world.channels.values()].find(
        (c) => c.guildId === undefined && c.recipientId === recipient,
      );
      if (!channel) {
        channel = {
          id: world.nextId(),
          type: 1,
          name: "",
          position: 0,
          parentId: null,
          topic: null,
          nsfw: false,
          rateLimitPerUser: 0,
          overwrites: [],
          recipientId: recipient,
          lastMessageId: null,
        };
        world.channels.set(channel.id, channel);
      }
      return json(200, apiChannel(world, channel));
    },
  },
  {
    method: "GET",
    pattern: "/applications/@me",
    auth: "bot",
    handle: (ctx) => json(200, applicationObject(ctx)),
  },
  {
    method: "GET",
    pattern: "/oauth2/applications/@me",
    auth: "bot",
    handle: (ctx) => json(200, applicationObject(ctx)),
  },
  ...commandRoutes("/applications/:app"),
  ...commandRoutes("/applications/:app/guilds/:guild"),
];
