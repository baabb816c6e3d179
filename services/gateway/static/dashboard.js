// The library dashboard: asks the gateway's JSON API and draws what it says.
//
// No build step and nothing from outside this folder: tables and hand-drawn SVG
// bars. One signs in with one's username and password (POST /api/sessions); the
// session's token is kept in this tab's sessionStorage only (never localStorage,
// never the address) and sent as a bearer token. Every panel is loaded on its
// own, so a service that is down empties only its panels, each with the reason;
// a session the gateway no longer accepts (expired, revoked) sends you back to
// the sign-in form, and signing out ends the session at the gateway
// (DELETE /api/sessions/current).
//
// body[data-state] says where the page is: "loading", "ready" (with
// body[data-generation] counting finished refreshes), "signing-in",
// "signing-out" and "signed-out" (the form is shown, with its reason if any).
"use strict";

(() => {
  const TOKEN_KEY = "library.dashboard.session";
  const OLD_TOKEN_KEY = "library.dashboard.token"; // where the token-only page kept its token
  const REFRESH_MS = 15000;
  const SVG = "http://www.w3.org/2000/svg";
  const SAYS = {
    missing: "请输入用户名和密码",
    wrong: "用户名或密码不正确",
    locked: "账号已被暂时锁定，请稍后再试",
    throttled: "登录尝试过于频繁，请稍后再试",
    unreachable: "无法连接服务器",
    unavailable: "登录服务暂时无法使用，请稍后再试",
    expired: "登录已过期，请重新登录",
    signedOut: "已退出登录",
    signedOutHere: "已在本页退出登录（无法连接服务器，会话将在到期后失效）",
  };
  const ROLES = { librarian: "图书管理员", assistant: "借阅台助理", operator: "系统运维", teacher: "教师", student: "学生" };
  const CAMPUSES = { north: "北校区", south: "南校区" };
  const state = {
    token: null,
    account: null,
    campus: "",
    period: "week",
    generation: 0,
    busy: false,
    again: false,
    timer: null,
    pristine: null,
  };

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  // ------------------------------------------------------------------ helpers

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const number = (value) => Number(value || 0).toLocaleString("en-US");
  const money = (value) =>
    "¥" + Number(value || 0).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
  }

  function svg(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function say(panel, message, isError = false) {
    const box = $(`[data-state-for="${panel}"]`);
    if (!box) return;
    box.textContent = message || "";
    box.classList.toggle("error", Boolean(isError));
  }

  function banner(message, kind = "error") {
    const box = $("#banner");
    box.hidden = !message;
    box.textContent = message || "";
    box.className = "banner" + (kind === "info" ? " info" : "");
  }

  // ------------------------------------------------------------------ the API

  // One call to the gateway: {status, body}, status 0 when it cannot be reached.
  async function call(method, path, { query = {}, json, token } = {}) {
    const url = new URL("/api/" + path, location.origin);
    for (const [name, value] of Object.entries(query)) {
      if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
    }
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      return { status: 0, body: null };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { status: response.status, body, statusText: response.statusText };
  }

  // A GET for a panel, as the signed-in person: the answer, or an ApiError.
  async function api(path, query = {}) {
    const { status, body, statusText } = await call("GET", path, { query, token: state.token });
    if (status === 0) throw new ApiError(0, "The gateway cannot be reached: is it running?");
    if (status < 200 || status >= 300) {
      throw new ApiError(status, (body && (body.detail || body.title)) || statusText);
    }
    return body;
  }

  function explain(error) {
    if (!(error instanceof ApiError)) return "Something went wrong drawing this: " + error.message;
    if (error.status === 403) return "Your role may not see this panel.";
    if (error.status === 503) return error.message + " (asked again every 15 s)";
    if (error.status === 0) return error.message;
    return `${error.message} (HTTP ${error.status})`;
  }

  // ------------------------------------------------------------------ charts

  // Vertical bars: [{label, value, title?}], each bar tagged with data-label and data-value.
  function columns(container, items, options = {}) {
    container.replaceChildren();
    if (!items.length) {
      container.append(element("p", { class: "empty" }, options.empty || "Nothing to show."));
      return;
    }
    const width = 720;
    const height = 240;
    const top = 22;
    const bottom = 24;
    const max = Math.max(1, ...items.map((item) => item.value));
    const step = width / items.length;
    const bar = Math.max(6, Math.min(44, step * 0.66));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": options.label || "" });
    chart.append(svg("line", { class: "axis", x1: 0, x2: width, y1: height - bottom, y2: height - bottom }));
    items.forEach((item, index) => {
      const h = ((height - top - bottom) * item.value) / max;
      const x = index * step + (step - bar) / 2;
      const y = height - bottom - h;
      const rect = svg("rect", {
        class: "bar " + (options.cls || ""),
        x: x.toFixed(1),
        y: y.toFixed(1),
        width: bar.toFixed(1),
        height: Math.max(0, h).toFixed(1),
        rx: 2,
        "data-label": item.label,
        "data-value": item.value,
      });
      rect.append(svg("title", {}, item.title || `${item.label}: ${number(item.value)}`));
      chart.append(rect);
      chart.append(svg("text", { x: x + bar / 2, y: height - 8, "text-anchor": "middle" }, item.label));
      chart.append(
        svg("text", { class: "value", x: x + bar / 2, y: y - 5, "text-anchor": "middle" }, number(item.value)),
      );
    });
    container.append(chart);
  }

  // Horizontal bars: [{label, value, note?, cls?}], largest first as given.
  function rows(container, items, options = {}) {
    container.replaceChildren();
    if (!items.length) {
      container.append(element("p", { class: "empty" }, options.empty || "Nothing to show."));
      return;
    }
    const width = 440;
    const line = 21;
    const labelWidth = 92;
    const height = items.length * line + 6;
    const max = Math.max(1, ...items.map((item) => item.value));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": options.label || "" });
    items.forEach((item, index) => {
      const y = index * line + 4;
      const w = ((width - labelWidth - 60) * item.value) / max;
      chart.append(svg("text", { x: 0, y: y + 13 }, item.label));
      const rect = svg("rect", {
        class: "bar " + (item.cls || options.cls || ""),
        x: labelWidth,
        y,
        width: Math.max(1, w).toFixed(1),
        height: line - 7,
        rx: 2,
        "data-label": item.label,
        "data-value": item.value,
      });
      rect.append(svg("title", {}, item.note || `${item.label}: ${number(item.value)}`));
      chart.append(rect);
      chart.append(svg("text", { class: "value", x: labelWidth + w + 6, y: y + 13 }, number(item.value)));
    });
    container.append(chart);
  }

  function legend(container) {
    container.append(
      element(
        "div",
        { class: "legend" },
        element("span", {}, element("i", { style: "background: var(--north)" }), "north"),
        element("span", {}, element("i", { style: "background: var(--south)" }), "south"),
      ),
    );
  }

  // ------------------------------------------------------------------ panels

  async function general() {
    const answer = await api("ledgers/general", { campus: state.campus });
    const total = answer.lines.find((line) => line.campus === "all") || {};
    $('[data-testid="held"]').textContent = number(total.held);
    $('[data-testid="held-value"]').textContent = money(total.held_value);
    $('[data-testid="on-loan"]').textContent = number(total.on_loan);
    $('[data-testid="in-repair"]').textContent = number(total.in_repair);
    $('[data-testid="weeded"]').textContent = number(total.weeded);
    $('[data-testid="weeded-value"]').textContent = money(total.weeded_value);
    const body = $('[data-testid="general-ledger"] tbody');
    body.replaceChildren(
      ...answer.lines.map((line) =>
        element(
          "tr",
          { class: line.campus === "all" ? "total" : "", "data-campus": line.campus },
          element("td", {}, line.campus === "all" ? "total" : line.campus),
          element("td", { "data-field": "held" }, number(line.held)),
          element("td", {}, money(line.held_value).slice(1)),
          element("td", {}, number(line.on_loan)),
          element("td", {}, number(line.in_repair)),
          element("td", {}, number(line.in_transit)),
          element("td", {}, number(line.lost)),
          element("td", {}, number(line.added)),
          element("td", {}, number(line.weeded)),
          element("td", {}, number(line.transferred_in)),
          element("td", {}, number(line.transferred_out)),
        ),
      ),
    );
    say("general", total.held ? "" : "No copies in the books yet.");
  }

  async function classification() {
    const answer = await api("ledgers/classification", { campus: state.campus });
    const letters = answer.lines
      .filter((line) => line.class_letter !== "all")
      .sort((a, b) => a.class_letter.localeCompare(b.class_letter))
      .map((line) => ({
        label: line.class_letter,
        value: line.held,
        title: `${line.class_letter}: ${number(line.held)} held, ${number(line.on_loan)} on loan`,
      }));
    columns($("#letters-chart"), letters, {
      cls: state.campus,
      label: "Copies held by classification letter",
      empty: "No copies in the books yet.",
    });
    say("classification", "");
  }

  async function writeoffs() {
    const answer = await api("ledgers/writeoffs", { campus: state.campus });
    const reasons = Object.entries(answer.by_reason || {}).sort((a, b) => b[1].copies - a[1].copies);
    const body = $('[data-testid="writeoffs"] tbody');
    body.replaceChildren(
      ...reasons.map(([reason, total]) =>
        element(
          "tr",
          { "data-reason": reason },
          element("td", {}, reason.replaceAll("_", " ")),
          element("td", {}, number(total.copies)),
          element("td", {}, money(total.value).slice(1)),
        ),
      ),
    );
    say("writeoffs", reasons.length ? "" : "Nothing written off.");
  }

  async function students() {
    const answer = await api("leaderboards/students", { period: state.period, campus: state.campus, limit: 10 });
    $('[data-testid="period-name"]').textContent = `${answer.name}: ${answer.from} to ${answer.to}`;
    const list = $('[data-testid="students-board"]');
    list.replaceChildren(
      ...answer.entries.map((entry) =>
        element(
          "li",
          { "data-patron": entry.patron_id || "" },
          element("span", { class: "rank" }, entry.rank),
          element(
            "span",
            { class: "who" },
            element("span", { class: "name" }, entry.name || entry.patron_id),
            element("small", {}, [entry.class_name, entry.campus].filter(Boolean).join(" · ")),
          ),
          element("span", { class: "books" }, `${number(entry.books)} books`),
        ),
      ),
    );
    say("students", answer.entries.length ? "" : "No student has borrowed in this period yet.");
  }

  async function classes() {
    const answer = await api("leaderboards/classes", { period: state.period, campus: state.campus, limit: 12 });
    rows(
      $("#classes-chart"),
      answer.entries.map((entry) => ({
        label: `${entry.rank}. ${entry.class_name}`,
        value: entry.books,
        cls: entry.campus,
        note: `${entry.class_name} (${entry.campus}): ${entry.books} books, ${entry.readers} readers`,
      })),
      { label: "Books read per class", empty: "No class has borrowed in this period yet." },
    );
    if (!state.campus && answer.entries.length) legend($("#classes-chart"));
    say("classes", "");
  }

  async function overdue() {
    const answer = await api("overdue", { campus: state.campus });
    const classes = answer.classes
      .map((group) => ({ label: group.class_name, value: group.loans.length }))
      .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
    const total = classes.reduce((sum, group) => sum + group.value, 0);
    $('[data-testid="overdue-total"]').textContent = number(total);
    $('[data-testid="overdue-on"]').textContent = `as of ${answer.on}`;
    rows($("#overdue-chart"), classes, { cls: "hot", label: "Overdue loans per class", empty: "Nothing overdue." });
    say("overdue", "");
  }

  async function status() {
    const answer = await api("status");
    const body = $('[data-testid="lag"] tbody');
    const lines = [];
    const behind = [];
    for (const service of answer.services) {
      if (!service.up) {
        lines.push(
          element(
            "tr",
            { "data-service": service.service },
            element("td", {}, service.service),
            element("td", { class: "down", colspan: 3 }, "down: " + (service.error || "no answer")),
          ),
        );
        continue;
      }
      const lags = service.projection_lag || [];
      if (!lags.length) {
        lines.push(
          element(
            "tr",
            { "data-service": service.service },
            element("td", {}, service.service),
            element("td", { class: "ok", colspan: 3 }, "up"),
          ),
        );
      }
      const most = Math.max(0, ...lags.map((lag) => Number(lag.lag || 0)));
      if (most) behind.push(`${service.service} ${number(most)}`);
      for (const lag of lags) {
        const late = lag.lag === null ? null : Number(lag.lag);
        lines.push(
          element(
            "tr",
            { "data-service": service.service, "data-projection": lag.projection, "data-source": lag.source },
            element("td", {}, service.service),
            element("td", {}, lag.projection),
            element("td", {}, lag.source),
            element("td", { class: late ? "behind" : "ok", "data-field": "lag" }, late === null ? "?" : number(late)),
          ),
        );
      }
    }
    body.replaceChildren(...lines);
    const down = answer.services.filter((service) => !service.up).map((service) => service.service);
    say("status", "");
    return { down, behind };
  }

  // ------------------------------------------------------------------ the page

  const PANELS = {
    general: [general, "general"],
    classification: [classification, "classification"],
    writeoffs: [writeoffs, "writeoffs"],
    students: [students, "students"],
    classes: [classes, "classes"],
    overdue: [overdue, "overdue"],
    status: [status, "status"],
  };

  async function refresh() {
    if (!state.token) return;
    if (state.busy) {
      state.again = true; // the campus or period changed meanwhile: ask once more when done
      return;
    }
    const token = state.token;
    state.busy = true;
    state.again = false;
    document.body.dataset.state = "loading";
    if (!state.account) whoAmI();
    const names = Object.keys(PANELS);
    const results = await Promise.allSettled(names.map((name) => PANELS[name][0]()));
    state.busy = false;
    if (state.token !== token) {
      // Signed out (or in as someone else) meanwhile: these answers are not for this page.
      if (state.token && state.again) refresh();
      return;
    }
    const failures = [];
    let health = null;
    results.forEach((result, index) => {
      const panel = PANELS[names[index]][1];
      if (result.status === "rejected") {
        failures.push(result.reason);
        say(panel, explain(result.reason), true);
      } else if (names[index] === "status") {
        health = result.value;
      }
    });
    if (failures.some((error) => error instanceof ApiError && error.status === 401)) {
      signedOut(SAYS.expired);
      return;
    }
    if (failures.length === results.length && failures.every((error) => error.status === 0)) {
      banner("The gateway cannot be reached: is it running? The page will try again.");
    } else if (health && health.down.length) {
      banner(`Not answering: ${health.down.join(", ")}. Panels that need them show why.`);
    } else if (health && health.behind.length) {
      banner(
        `Still taking in events (${health.behind.join(", ")} behind): ` +
          "the figures will grow until the read models have caught up.",
        "info",
      );
    } else {
      banner("");
    }
    state.generation += 1;
    document.body.dataset.generation = String(state.generation);
    document.body.dataset.state = "ready";
    $("#updated").textContent = "Updated " + new Date().toLocaleTimeString();
    if (state.again) refresh();
  }

  function pressed(group, attribute, value) {
    for (const button of $$(`[${attribute}]`, group)) {
      button.setAttribute("aria-pressed", String(button.getAttribute(attribute) === value));
    }
  }

  // The campus and period live in the address (#campus=south&period=term); nothing else does.
  function remember() {
    const params = new URLSearchParams();
    if (state.campus) params.set("campus", state.campus);
    if (state.period !== "week") params.set("period", state.period);
    const hash = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (hash ? "#" + hash : ""));
  }

  function readAddress() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (["north", "south"].includes(params.get("campus"))) state.campus = params.get("campus");
    if (["week", "month", "term"].includes(params.get("period"))) state.period = params.get("period");
    remember(); // anything else in the address (an old "#token=" link) is dropped, never used
  }

  // ------------------------------------------------------------------ signing in and out

  const storage = {
    get() {
      try {
        return sessionStorage.getItem(TOKEN_KEY);
      } catch (error) {
        return null;
      }
    },
    set(token) {
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch (error) {
        // no sessionStorage (a locked-down browser): the session lasts as long as the page
      }
    },
    clear() {
      try {
        sessionStorage.removeItem(TOKEN_KEY);
        localStorage.removeItem(OLD_TOKEN_KEY);
      } catch (error) {
        // nothing kept, nothing to clear
      }
    },
  };

  function describe(account) {
    const roles = (account.roles || []).map((role) => {
      const name = ROLES[role] || role;
      return role === "assistant" && CAMPUSES[account.campus] ? `${CAMPUSES[account.campus]}${name}` : name;
    });
    return roles.join("、");
  }

  function showWho() {
    const account = state.account;
    $("#who").hidden = !account;
    $('[data-testid="who-name"]').textContent = account ? account.name || account.username : "";
    $('[data-testid="who-role"]').textContent = account ? describe(account) : "";
    $("#who").title = account ? `${account.username}` : "";
  }

  async function whoAmI() {
    const token = state.token;
    const { status, body } = await call("GET", "me", { token });
    if (state.token !== token) return;
    if (status === 200 && body) {
      state.account = body;
      showWho();
    } else if (status === 401) {
      signedOut(SAYS.expired);
    }
  }

  // Why a sign-in was refused, never saying whether the username or the password was wrong.
  function refusal(status, body) {
    const code = body && body.code;
    if (status === 0) return SAYS.unreachable;
    if (code === "account_locked" || status === 423) return SAYS.locked;
    if (code === "too_many_sign_ins" || status === 429) return SAYS.throttled;
    if (status === 401 || status === 400) return SAYS.wrong; // 400: nothing the form sends can be right
    if (status === 503) return SAYS.unavailable;
    return `登录失败（HTTP ${status}），请稍后再试`;
  }

  async function signIn(form) {
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      $("#sign-in-reason").textContent = SAYS.missing;
      $("#sign-in-reason").className = "reason error";
      (username ? form.password : form.username).focus();
      return;
    }
    const button = $('button[type="submit"]', form);
    button.disabled = true;
    $("#sign-in-reason").textContent = "";
    document.body.dataset.state = "signing-in";
    const { status, body } = await call("POST", "sessions", { json: { username, password } });
    button.disabled = false;
    form.password.value = "";
    if (status === 201 && body && body.token) {
      storage.set(body.token);
      state.token = body.token;
      state.account = body.account || null;
      form.username.value = "";
      start();
      return;
    }
    signedOut(refusal(status, body), form.password);
  }

  async function signOut() {
    const token = state.token;
    const button = $("#sign-out");
    button.disabled = true;
    document.body.dataset.state = "signing-out";
    const { status } = token ? await call("DELETE", "sessions/current", { token }) : { status: 204 };
    button.disabled = false;
    signedOut(status === 0 ? SAYS.signedOutHere : SAYS.signedOut, null, "info");
  }

  // Back to the sign-in form: the token forgotten, the figures of the last person wiped.
  function signedOut(reason = "", focus = null, kind = "error") {
    storage.clear();
    state.token = null;
    state.account = null;
    clearInterval(state.timer);
    if (state.pristine) $("#dashboard").replaceChildren(...state.pristine.cloneNode(true).childNodes);
    showWho();
    $("#dashboard").hidden = true;
    $("#sign-out").hidden = true;
    $("#refresh").hidden = true;
    $('[data-testid="campus-switch"]').hidden = true;
    $("#updated").textContent = "";
    banner("");
    $("#sign-in").hidden = false;
    $("#sign-in-reason").textContent = reason;
    $("#sign-in-reason").className = "reason " + kind;
    document.body.dataset.state = "signed-out";
    (focus || ($("#username").value ? $("#password") : $("#username"))).focus();
  }

  // A reload of a signed-in tab: who is this session? (Expired: the form; no answer: the
  // dashboard, whose panels say why, asks again.)
  async function resume() {
    document.body.dataset.state = "loading";
    await whoAmI();
    if (state.token) start();
  }

  function start() {
    showWho();
    $("#sign-in").hidden = true;
    $("#sign-in-reason").textContent = "";
    $("#dashboard").hidden = false;
    $("#sign-out").hidden = false;
    $("#refresh").hidden = false;
    $('[data-testid="campus-switch"]').hidden = false;
    document.body.dataset.state = "loading";
    pressed($('[data-testid="campus-switch"]'), "data-campus", state.campus);
    pressed($('[data-testid="period-switch"]'), "data-period", state.period);
    clearInterval(state.timer);
    state.timer = setInterval(refresh, REFRESH_MS);
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    state.pristine = $("#dashboard").cloneNode(true);
    readAddress();
    $('[data-testid="campus-switch"]').addEventListener("click", (event) => {
      const button = event.target.closest("[data-campus]");
      if (!button) return;
      state.campus = button.dataset.campus;
      pressed(event.currentTarget, "data-campus", state.campus);
      remember();
      refresh();
    });
    // On the dashboard itself, not the switch: signing out puts back fresh panels.
    $("#dashboard").addEventListener("click", (event) => {
      const button = event.target.closest('[data-testid="period-switch"] [data-period]');
      if (!button) return;
      state.period = button.dataset.period;
      pressed($('[data-testid="period-switch"]'), "data-period", state.period);
      remember();
      refresh();
    });
    $("#refresh").addEventListener("click", refresh);
    $("#sign-out").addEventListener("click", signOut);
    $("#sign-in").addEventListener("submit", (event) => {
      event.preventDefault();
      signIn(event.currentTarget);
    });
    try {
      localStorage.removeItem(OLD_TOKEN_KEY); // a token the old page left behind is not used
    } catch (error) {
      // no localStorage: nothing left behind
    }
    state.token = storage.get();
    if (state.token) resume();
    else signedOut();
  });
})();
