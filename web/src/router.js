// The screens, each behind the right it needs (rights: shared/runtime/rights.py).
// Hash history: the gateway serves one page at "/", so links never need a
// server-side fallback. `meta.nav` puts a screen in the menu (label: common.nav.<name>).
import { createRouter, createWebHashHistory } from "vue-router";
import { session, can, keepAccount, keptAccount } from "./session.js";
import { get } from "./api.js";
import { unreachable } from "./offline/sync.js";

const routes = [
  { path: "/sign-in", name: "sign-in", component: () => import("./screens/SignIn.vue"), meta: { public: true } },
  { path: "/", name: "home", redirect: () => homeOf() },
  { path: "/dashboard", name: "dashboard", component: () => import("./screens/dashboard/DashboardScreen.vue"), meta: { right: "records.read", nav: true } },
  { path: "/desk/:tab(lend|return|renew|today)?", name: "desk", component: () => import("./screens/desk/DeskScreen.vue"), meta: { right: "desk", nav: true } },
  { path: "/offline", name: "offline", component: () => import("./screens/offline/OfflineScreen.vue"), meta: { right: "desk" } },
  { path: "/catalogue", name: "catalogue", component: () => import("./screens/catalogue/CatalogueScreen.vue"), meta: { right: "collection.manage", nav: true } },
  { path: "/catalogue/new", name: "catalogue-new", component: () => import("./screens/catalogue/AddTitle.vue"), meta: { right: "collection.manage" } },
  { path: "/stocktake/:id?", name: "stocktake", component: () => import("./screens/stocktake/StocktakeScreen.vue"), meta: { right: "collection.manage", nav: true } },
  { path: "/copies/:barcode", name: "copy", component: () => import("./screens/catalogue/CopyPage.vue"), meta: { right: "catalogue.search" } },
  { path: "/cards/:tab(issue|import|manage|clearance)?", name: "cards", component: () => import("./screens/cards/CardsScreen.vue"), meta: { right: "desk", nav: true } },
  { path: "/teacher", name: "teacher", component: () => import("./screens/teacher/TeacherScreen.vue"), meta: { right: "class.read", nav: true } },
  { path: "/reading/:tab(notes|competitions|targets|bulletin|leaderboards)?", name: "reading", component: () => import("./screens/reading/ReadingScreen.vue"), meta: { anyOf: ["notes.own", "notes.award", "records.read"], nav: true } },
  { path: "/records/:tab(registers|ledgers|terms)?", name: "records", component: () => import("./screens/records/RecordsScreen.vue"), meta: { right: "records.read", nav: true } },
  { path: "/calendar", name: "calendar", component: () => import("./screens/calendar/CalendarScreen.vue"), meta: { right: "records.manage", nav: true } },
  { path: "/school-year", name: "schoolyear", component: () => import("./screens/schoolyear/SchoolYearScreen.vue"), meta: { right: "records.manage", nav: true } },
  { path: "/opac", name: "opac", component: () => import("./screens/opac/OpacScreen.vue"), meta: { right: "catalogue.search", nav: true } },
  { path: "/operator", name: "operator", component: () => import("./screens/operator/OperatorScreen.vue"), meta: { right: "operate", nav: true } },
  { path: "/account", name: "account", component: () => import("./screens/AccountScreen.vue") },
  { path: "/:rest(.*)*", redirect: "/" },
];

/** Where a person lands after signing in: the first screen of their main role. */
export function homeOf() {
  const account = session.account;
  if (!account) return "/sign-in";
  const roles = account.roles;
  if (roles.includes("librarian")) return "/dashboard";
  if (roles.includes("assistant")) return "/desk/lend";
  if (roles.includes("operator")) return "/operator";
  if (roles.includes("teacher")) return "/teacher";
  return "/opac";
}

/** Whether the person signed in may open a route (used by the guard and the menu). */
export function allowed(route) {
  const meta = route.meta || {};
  if (meta.anyOf) return meta.anyOf.some(can);
  return !meta.right || can(meta.right);
}

export const router = createRouter({ history: createWebHashHistory(), routes });

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  if (!session.token) return { name: "sign-in", query: { next: to.fullPath } };
  if (!session.account) {
    try {
      keepAccount(await get("/api/me"));
    } catch (error) {
      // No answer at all (the desk offline): the account this tab last had, if any.
      const kept = unreachable(error) ? keptAccount() : null;
      if (!kept) return { name: "sign-in", query: { next: to.fullPath } };
      session.account = kept;
    }
  }
  if (to.name === "home") return true;
  return allowed(to) ? true : homeOf();
});

// A new release replaced the screens' files while this tab was open: the old chunk
// names are gone, so load the page again (once) rather than show a broken screen.
router.onError((error, to) => {
  const stale = /Failed to fetch dynamically imported module|Importing a module script failed/.test(String(error));
  if (stale && sessionStorage.getItem("library.reloaded") !== to.fullPath) {
    sessionStorage.setItem("library.reloaded", to.fullPath);
    window.location.assign(`/#${to.fullPath}`);
    window.location.reload();
  }
});
