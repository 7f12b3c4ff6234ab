// Bundles the page for `snug serve`: src/app.js with marked and DOMPurify into one minified
// app.js (no CDN: everything the page loads comes from snug), plus index.html and app.css.
//   node build.mjs --out DIR
import {copyFileSync, mkdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

import {build} from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outIndex = process.argv.indexOf("--out");
const out = outIndex > 0 ? process.argv[outIndex + 1] : join(here, "dist");
mkdirSync(out, {recursive: true});
await build({
  entryPoints: [join(here, "src/app.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",  // the libraries' licence notices stay in the bundle,
  outfile: join(out, "app.js"),
  logLevel: "warning",
});
await build({
  entryPoints: [join(here, "src/style.css")],
  bundle: true,
  minify: true,
  outfile: join(out, "app.css"),
  logLevel: "warning",
});
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
