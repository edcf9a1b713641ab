// ESLint's configuration (flat config) for the browser scripts this project writes: the chat
// widget, the shared markdown renderer and the adviser console's scripts under bot/web/static/.
// The vendored files (bot/web/static/vendor/, copied from node_modules by `mutuals setup`) are
// not ours and are left alone. tests/test_code_checks.py runs it (`make check` and CI).
//
// The scripts are plain ES5 in an IIFE with "use strict", loaded by a script tag, with no build
// step: hence ecmaVersion 5 and sourceType "script", so any newer syntax is an error, not a
// surprise in an old browser.
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: ["bot/web/static/vendor/**"] },
  {
    files: ["bot/web/static/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 5,
      sourceType: "script",
      globals: {
        ...globals.browser,
        // built-ins newer than ES5 that the scripts use where every supported browser has them
        Promise: "readonly",     // console.js: fetch, the poller, saved replies
        Uint8Array: "readonly",  // the widget's random message ids
      },
    },
    rules: {
      ...js.configs.recommended.rules,
      // ES5 has no `catch {}`: a catch clause must name the error even where it is not used
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
];
