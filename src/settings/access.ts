import { roleMention } from "../text/markup.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { GuildSettings } from "./settings.ts";

/**
 * What a server's settings allow a member to ask for. Checked before any acknowledgement or provider
 * call, so a refusal costs nothing and says why.
 */
export function assertMayRequest(
  settings: GuildSettings,
  member: { roleIds: readonly string[]; isManager: boolean },
  request: { command: "speak" | "narrate"; chars: number },
): void {
  if (request.command === "speak" && !member.isManager) {
    if (!settings.speak.enabled) {
      throw new UserFacingError("The server's admins have turned /speak off here.");
    }
    const role = settings.speak.requiredRoleId;
    if (role && !member.roleIds.includes(role)) {
      throw new UserFacingError(`/speak needs the ${roleMention(role)} role on this server.`);
    }
  }
  const max = settings.limits.maxCharsPerRequest;
  if (max !== undefined && request.chars > max) {
    throw new UserFacingError(
      `That text has ${request.chars} characters; this server allows at most ${max} per request.`,
    );
  }
}
