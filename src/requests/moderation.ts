import { UserFacingError } from "../user-facing-error.ts";
import type { Pump, RequestContext } from "./context.ts";
import type { NarrationRequestRecord } from "./types.ts";

/**
 * What members and moderators do to a request from its card or `/request`: upvote (once per member,
 * not by the requester), approve (a pending request; moderators), reject (pending or approved;
 * moderators), cancel (pending or approved; the requester only). Each acts only on a request of the
 * actor's own server: a request id alone grants nothing.
 */

export const MAX_REASON_LENGTH = 1000;

export interface RequestActor {
  userId: string;
  /** The server the action happens in: only that server's requests can be acted on. */
  guildId: string | null;
  name?: string;
  /** Manage Server, or the guild's `requests.moderatorRoleId`. */
  isModerator?: boolean;
}

type Request = NarrationRequestRecord;

/** The request, if it belongs to the actor's server. */
export async function findInServer(
  ctx: RequestContext,
  requestId: string,
  actor: RequestActor,
): Promise<Request> {
  const request = await ctx.store.get(requestId);
  if (!request || request.guildId !== actor.guildId) {
    throw noSuchRequest(requestId);
  }
  return request;
}

export async function upvote(ctx: RequestContext, requestId: string, actor: RequestActor): Promise<Request> {
  const userId = actor.userId;
  const updated = await changeInServer(ctx, requestId, actor, (cur) => {
    if (cur.state !== "pending" && cur.state !== "approved") {
      throw new UserFacingError(`This request can no longer be upvoted (it is ${cur.state}).`);
    }
    if (cur.requesterId === userId) throw new UserFacingError("You cannot upvote your own request.");
    if (cur.upvoters.includes(userId)) throw new UserFacingError("You already upvoted this request.");
    return { ...cur, upvoters: [...cur.upvoters, userId] };
  });
  await ctx.showCard(updated);
  return updated;
}

export async function approve(
  ctx: RequestContext,
  pump: Pump,
  requestId: string,
  actor: RequestActor,
  reason: string | undefined,
): Promise<Request> {
  assertModerator(actor, "approve");
  const updated = await changeInServer(ctx, requestId, actor, (cur) => {
    if (cur.state !== "pending") {
      throw new UserFacingError(`Only a pending request can be approved (this one is ${cur.state}).`);
    }
    return {
      ...cur,
      state: "approved",
      approverId: actor.userId,
      approverName: actor.name,
      reason: cleanReason(reason),
      approvedAt: ctx.now(),
    };
  });
  await ctx.showCard(updated);
  await ctx.tell(updated, "approved");
  await pump(updated.guildId);
  return (await ctx.store.get(requestId)) ?? updated;
}

export async function reject(
  ctx: RequestContext,
  requestId: string,
  actor: RequestActor,
  reason: string | undefined,
): Promise<Request> {
  assertModerator(actor, "reject");
  const updated = await changeInServer(ctx, requestId, actor, (cur) => {
    if (cur.state !== "pending" && cur.state !== "approved") {
      throw new UserFacingError(`This request can no longer be rejected (it is ${cur.state}).`);
    }
    return {
      ...cur,
      state: "rejected",
      rejecterId: actor.userId,
      reason: cleanReason(reason),
      finishedAt: ctx.now(),
    };
  });
  await ctx.showCard(updated);
  await ctx.tell(updated, "rejected");
  return updated;
}

export async function cancel(ctx: RequestContext, requestId: string, actor: RequestActor): Promise<Request> {
  const updated = await changeInServer(ctx, requestId, actor, (cur) => {
    if (cur.requesterId !== actor.userId) {
      throw new UserFacingError("Only the person who made this request can cancel it.");
    }
    if (cur.state !== "pending" && cur.state !== "approved") {
      throw new UserFacingError(`This request can no longer be cancelled (it is ${cur.state}).`);
    }
    return { ...cur, state: "cancelled", finishedAt: ctx.now() };
  });
  await ctx.showCard(updated);
  return updated;
}

/**
 * A serialised change whose `fn` may refuse by throwing; a vanished record is an error, and so is a
 * record of another server than the actor's.
 */
async function changeInServer(
  ctx: RequestContext,
  id: string,
  actor: RequestActor,
  fn: (cur: Request) => Request,
): Promise<Request> {
  const updated = await ctx.store.update(id, (cur) => {
    if (!cur || cur.guildId !== actor.guildId) {
      throw noSuchRequest(id);
    }
    return fn(cur);
  });
  if (!updated) throw new UserFacingError("This request changed meanwhile; please try again.");
  return updated;
}

function noSuchRequest(id: string): UserFacingError {
  return new UserFacingError(`There is no narration request \`${id}\` in this server.`);
}

function assertModerator(actor: RequestActor, verb: string): void {
  if (!actor.isModerator) {
    throw new UserFacingError(`Only a moderator can ${verb} narration requests.`);
  }
}

function cleanReason(reason: string | undefined): string | undefined {
  const trimmed = reason?.trim();
  return trimmed ? trimmed.slice(0, MAX_REASON_LENGTH) : undefined;
}
