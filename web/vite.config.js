// The library's screens are built here into web/dist, which the gateway serves:
// index.html at "/", everything else under "/static/". Nothing is fetched from the
// internet at run time: every library is bundled from node_modules.
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

export default defineConfig({
  base: "/static/",
  plugins: [vue()],
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
