/**
 * Discord's error bodies: `{ message, code, errors? }`. Form errors nest by field path and end in
 * `_errors: [{ code, message }]`, e.g. `{ data: { content: { _errors: [...] } } }`.
 */

export interface FormIssue {
  path: ReadonlyArray<string | number>;
  code: string;
  message: string;
}

export class DiscordError extends Error {
  readonly status: number;
  readonly body: { message: string; code: number; errors?: unknown };

  constructor(status: number, code: number, message: string, errors?: unknown) {
    super(`${status} ${code} ${message}`);
    this.status = status;
    this.body = errors === undefined ? { message, code } : { message, code, errors };
  }
}

export function formErrorTree(issues: readonly FormIssue[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const issue of issues) {
    let node = root;
    for (const segment of issue.path) {
      const key = String(segment);
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node._errors ??= [];
    const list = node._errors as Array<{ code: string; message: string }>;
    list.push({ code: issue.code, message: issue.message });
  }
  return root;
}

export const errors = {
  unauthorized: () => new DiscordError(401, 0, "401: Unauthorized"),
  notFound: () => new DiscordError(404, 0, "404: Not Found"),
  methodNotAllowed: () => new DiscordError(405, 0, "405: Method Not Allowed"),
  unknownChannel: () => new DiscordError(404, 10003, "Unknown Channel"),
  unknownGuild: () => new DiscordError(404, 10004, "Unknown Guild"),
  unknownMember: () => new DiscordError(404, 10007, "Unknown Member"),
  unknownMessage: () => new DiscordError(404, 10008, "Unknown Message"),
  unknownUser: () => new DiscordError(404, 10013, "Unknown User"),
  unknownEmoji: () => new DiscordError(400, 10014, "Unknown Emoji"),
  unknownWebhook: () => new DiscordError(404, 10015, "Unknown Webhook"),
  unknownApplication: () => new DiscordError(404, 10002, "Unknown Application"),
  unknownCommand: () => new DiscordError(404, 10063, "Unknown application command"),
  unknownInteraction: () => new DiscordError(404, 10062, "Unknown interaction"),
  unknownVoiceState: () => new DiscordError(404, 10065, "Unknown Voice State"),
  requestTooLarge: () => new DiscordError(413, 40005, "Request entity too large"),
  alreadyAcknowledged: () => new DiscordError(400, 40060, "Interaction has already been acknowledged."),
  missingAccess: () => new DiscordError(403, 50001, "Missing Access"),
  tooManyFollowUps: () =>
    new DiscordError(400, 40094, "This interaction has hit the maximum number of follow up messages"),
  cannotEditOthers: () => new DiscordError(403, 50005, "Cannot edit a message authored by another user"),
  emptyMessage: () => new DiscordError(400, 50006, "Cannot send an empty message"),
  cannotDmUser: () => new DiscordError(403, 50007, "Cannot send messages to this user"),
  nonTextChannel: () => new DiscordError(400, 50008, "Cannot send messages in a non-text channel"),
  missingPermissions: () => new DiscordError(403, 50013, "Missing Permissions"),
  invalidWebhookToken: () => new DiscordError(401, 50027, "Invalid Webhook Token"),
  invalidForm: (issues: readonly FormIssue[]) =>
    new DiscordError(400, 50035, "Invalid Form Body", formErrorTree(issues)),
  invalidJson: () => new DiscordError(400, 50109, "The request body contains invalid JSON."),
  voiceNoAdditionalContent: () =>
    new DiscordError(400, 50159, "Voice messages do not support additional content."),
  voiceSingleAudioAttachment: () =>
    new DiscordError(400, 50160, "Voice messages must have a single audio attachment."),
  voiceMissingMetadata: () => new DiscordError(400, 50161, "Voice messages must have supporting metadata."),
  voiceCannotBeEdited: () => new DiscordError(400, 50162, "Voice messages cannot be edited."),
  voiceNotAllowedInChannel: () =>
    new DiscordError(403, 50173, "You cannot send voice messages in this channel."),
} as const;

/** Throws `invalidForm` when any issue was found. */
export function assertNoIssues(issues: readonly FormIssue[]): void {
  if (issues.length > 0) throw errors.invalidForm(issues);
}

export const issue = {
  maxLength: (path: FormIssue["path"], max: number): FormIssue => ({
    path,
    code: "BASE_TYPE_MAX_LENGTH",
    message: `Must be ${max} or fewer in length.`,
  }),
  badLength: (path: FormIssue["path"], min: number, max: number): FormIssue => ({
    path,
    code: "BASE_TYPE_BAD_LENGTH",
    message: `Must be between ${min} and ${max} in length.`,
  }),
  required: (path: FormIssue["path"]): FormIssue => ({
    path,
    code: "BASE_TYPE_REQUIRED",
    message: "This field is required",
  }),
  choices: (path: FormIssue["path"], allowed: readonly (string | number)[]): FormIssue => ({
    path,
    code: "BASE_TYPE_CHOICES",
    message: `Value must be one of {${allowed.join(", ")}}.`,
  }),
  type: (path: FormIssue["path"], what: string, value: unknown): FormIssue => ({
    path,
    code:
      what === "string" ? "BASE_TYPE_STRING" : what === "int" ? "NUMBER_TYPE_COERCE" : "MODEL_TYPE_CONVERT",
    message:
      what === "string"
        ? "Must be a string."
        : what === "int"
          ? `Value "${String(value)}" is not int.`
          : `Could not interpret "${String(value)}" as ${what}.`,
  }),
  range: (path: FormIssue["path"], min: number, max: number): FormIssue => ({
    path,
    code: "NUMBER_TYPE_MAX",
    message: `int value should be between ${min} and ${max}.`,
  }),
  custom: (path: FormIssue["path"], code: string, message: string): FormIssue => ({ path, code, message }),
};
