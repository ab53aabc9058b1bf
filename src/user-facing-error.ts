/**
 * An error whose message is written for the person who asked (bad option values, cooldowns, limits).
 * Domain code throws it; the Discord layer shows the message as is, ephemerally. Any other error gets a
 * generic apology and a log line instead.
 */
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserFacingError";
  }
}
