// The library's screens are built here into web/dist, which the gateway serves:
// index.html at "/", everything else under "/static/". Nothing is fetched from the
// internet at run time: every library is bundled from node_modules.
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";

// The service worker (src/offline/service-worker.js) as /static/sw.js, told this
// build's files: a new build is a new worker, which keeps the new files and drops
// the old ones (docs/offline.md).
function offlineShell() {
  const source = new URL("./src/offline/service-worker.js", import.meta.url);
  return {
    name: "library-offline-shell",
    apply: "build",
    enforce: "post",
    generateBundle(_options, bundle) {
      const built = Object.keys(bundle).filter((name) => name !== "index.html" && !name.endsWith(".map"));
      const files = [...built, ...readdirSync(new URL("./public", import.meta.url))].sort();
      const version = createHash("sha256").update(files.join("\n")).digest("hex").slice(0, 12);
      const head = `const VERSION = ${JSON.stringify(version)};\nconst SHELL = ${JSON.stringify(files)};\n`;
      this.emitFile({ type: "asset", fileName: "sw.js", source: head + readFileSync(source, "utf8") });
    },
  };
}

export default defineConfig({
  base: "/static/",
  plugins: [vue(), offlineShell()],
  define: {
    // vue-i18n: messages are compiled just in time (no eval), legacy API off.
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_PROD_DEVTOOLS__: false,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
});
