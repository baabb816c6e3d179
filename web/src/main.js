import "./offline/shell.js"; // first: the address a service worker may keep, before the router reads it
import { createApp } from "vue";
import App from "./App.vue";
import { router } from "./router.js";
import { i18n, setLanguage } from "./i18n.js";
import "./styles.css";

setLanguage(i18n.global.locale.value);
createApp(App).use(i18n).use(router).mount("#app");
