import { type InternalRequest, REST, RESTEvents } from "discord.js";

/**
 * Interaction writes — the callback (`POST /interactions/{id}/{token}/callback`), the original
 * response (`GET/PATCH/DELETE /webhooks/{app}/{token}/messages/@original`) and follow-ups
 * (`POST /webhooks/{app}/{token}`, and their messages) — go out at once instead of waiting behind the
 * bot's global request limit.
 *
 * discord.js's REST (`@discordjs/rest` 2.6) keeps a client-side global limit,
 * `globalRequestsPerSecond` (50 by default), and applies it to every request it sends through a
 * per-route queue. It already exempts the interaction callback (its "burst" handler has no global
 * limit), but not the `/webhooks/{app}/{token}` routes: with 50 members at once, the edit that
 * delivers a member's audio waits in line behind everyone else's requests, a whole second per 50.
 *
 * Why this is safe: Discord's global limit is counted per bot token, and "interaction endpoints are
 * not bound to the bot's Global Rate Limit" (discord.com/developers/docs/topics/rate-limits#global-
 * rate-limit; the endpoints are the callback and the webhook routes of the interaction token). These
 * requests carry no bot token at all: discord.js sends them with `auth: false`, authenticated by the
 * interaction token in the path. So they go through a second REST instance, identical to the client's
 * but with no client-side global limit. Everything else stays as it was:
 * - bot-token routes keep the client's REST and its safe limits, global limit included;
 * - per-route buckets are intact: the second instance has discord.js's own handlers, one queue per
 *   route and interaction token (edits of one reply stay in order), following Discord's
 *   `X-RateLimit-*` headers;
 * - a 429 from Discord is still honoured on every route: the handler waits `Retry-After` and sends
 *   again; a global 429 (`X-RateLimit-Global`) blocks that instance's requests until it resets.
 */

/** What `rest.queueRequest` takes. */
type Request = InternalRequest;

/** The routes an interaction token authenticates, when sent without the bot token. */
export function isInteractionTokenRoute(request: Pick<Request, "fullRoute" | "auth">): boolean {
  if (request.auth !== false) return false;
  const route = request.fullRoute;
  return (
    /^\/interactions\/\d+\/[^/]+\/callback$/.test(route) || /^\/webhooks\/\d+\/[^/]+(?:\/|$)/.test(route)
  );
}

/**
 * Makes `rest` send interaction-token requests through a second REST instance with the same options
 * but no client-side global limit (see above). Its rate-limit and debug events are re-emitted on
 * `rest`. Returns the second instance (for tests); its sweep timers are unref'd, like the client's,
 * so it needs no closing.
 */
export function routeInteractionWrites(rest: REST): REST {
  const interactions = new REST({
    ...rest.options,
    // `Infinity` never runs out (discord.js decrements it per request); a global 429 still sets it to
    // 0 until Discord's reset, so a real global limit is honoured.
    globalRequestsPerSecond: Number.POSITIVE_INFINITY,
    // One handler per route and interaction token; a token lives 15 minutes, so idle ones are
    // dropped that often rather than hourly.
    handlerSweepInterval: 15 * 60_000,
  });
  for (const event of [RESTEvents.RateLimited, RESTEvents.Debug, RESTEvents.InvalidRequestWarning] as const) {
    interactions.on(event, (...args: unknown[]) => {
      if (rest.listenerCount(event) > 0)
        (rest.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    });
  }
  const botRoutes = rest.queueRequest.bind(rest);
  rest.queueRequest = (request) =>
    isInteractionTokenRoute(request) ? interactions.queueRequest(request) : botRoutes(request);
  return interactions;
}
