// Bundles the web console (console/) with esbuild into `outdir`: index.html, console.css
// and one minified app.js (Preact + connect-web + the generated code). Used by scripts/build.mjs.
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * Builds the console into `outdir` (absolute) from `root` (the repository).
 * Returns the size of app.js, raw and gzipped, in bytes.
 */
export async function buildConsole(esbuild, root, outdir) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["console/src/main.tsx"],
    outfile: join(outdir, "app.js"),
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  for (const f of ["index.html", "console.css"]) copyFileSync(join(root, "console", f), join(outdir, f));
  const js = readFileSync(join(outdir, "app.js"));
  return { bytes: statSync(join(outdir, "app.js")).size, gzipped: gzipSync(js, { level: 9 }).length };
}
