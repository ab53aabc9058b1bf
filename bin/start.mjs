// `npm start`: checks the Node.js version, then runs the bot (src/index.ts) in this same process.
// Plain JavaScript on purpose, with no TypeScript syntax: it must run on any Node.js, old ones
// included, to say in one line which one the bot needs instead of failing with a stack trace.

/** The oldest Node.js that runs the TypeScript sources directly; package.json `engines` says the same. */
const REQUIRED = "22.19.0";

const HOW =
  "Run it with `npm start` after a plain `npm ci`, which installs Node.js 24 as the npm `node` package " +
  "and runs every npm script with it, or install Node.js 24 from https://nodejs.org";

function atLeast(version, minimum) {
  const have = version.split(".").map(Number);
  const need = minimum.split(".").map(Number);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] || 0) !== need[i]) return (have[i] || 0) > need[i];
  }
  return true;
}

function fail(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

const current = process.versions.node;
if (!atLeast(current, REQUIRED)) {
  fail(
    `This bot needs Node.js ${REQUIRED} or newer, but it was started with Node.js ${current} ` +
      `(${process.execPath}). ${HOW}.`,
  );
}

import("../src/index.ts").catch((err) => {
  // biome-ignore lint/complexity/useOptionalChain: this file must parse on Node.js versions without `?.`.
  const code = err && err.code;
  if (code === "ERR_UNKNOWN_FILE_EXTENSION") {
    // A new enough Node.js with type stripping turned off (NODE_OPTIONS=--no-experimental-strip-types).
    fail(
      `Node.js ${current} (${process.execPath}) did not load the TypeScript sources: type stripping is ` +
        "turned off; remove --no-experimental-strip-types from NODE_OPTIONS.",
    );
  }
  if (code === "ERR_MODULE_NOT_FOUND") {
    fail(`The bot could not start: ${err.message}. Run \`npm ci\` to install its dependencies.`);
  }
  throw err;
});
