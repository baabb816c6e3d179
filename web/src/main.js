import "./offline/shell.js"; // the service worker that keeps the desk page (where the browser allows one)
import { createApp } from "vue";
import App from "./App.vue";
import { router } from "./router.js";
import { i18n, setLanguage } from "./i18n.js";
import "./styles.css";

setLanguage(i18n.global.locale.value);
createApp(App).use(i18n).use(router).mount("#app");
