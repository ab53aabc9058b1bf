import type { UserSettingsStore } from "../settings/user-settings.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * A member who opted out of being read (`/voice read-me enabled:false`) is not read aloud by anyone
 * else: "Read aloud" on their messages is refused for others, in voice and privately alike, while
 * they can still use it on their own messages. Auto-read and join announcements check the same flag.
 */
export async function assertMayReadAloud(
  users: Pick<UserSettingsStore, "get">,
  authorId: string,
  callerId: string,
): Promise<void> {
  if (authorId === callerId) return;
  if ((await users.get(authorId)).optedOut) {
    throw new UserFacingError("That member asked not to be read aloud, so I will not read their messages.");
  }
}
