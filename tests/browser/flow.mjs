// Browser test of SegmentIQ's pages: Debian's Chromium, driven by playwright-core, against a real
// server (BASE_URL) backed by a real database. Run through scripts/browser-test.sh, which starts
// the server and database; this file only drives the browser and checks what a user would see.
//
// Each test gets a fresh browser context. Screenshots of every page at desktop (1280 px) and
// phone (375 px) width go to SCREENSHOT_DIR. The last line is `browser: N passed, M failed`.

import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const BASE_URL = (process.env.BASE_URL || "http://127.0.0.1:8000").replace(/\/$/, "");
const SHOTS = process.env.SCREENSHOT_DIR || join(root, "test-output", "screenshots");
const SAMPLE = process.env.SAMPLE_CSV || join(root, "sample_data", "ethiopian_supermarket_customers.csv");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const RUN_TIMEOUT = Number(process.env.RUN_TIMEOUT_MS || 180_000);
// Set when the server runs with API_TOKEN / API_READ_TOKEN: then only the sign-in flow runs.
const FULL_TOKEN = process.env.FULL_TOKEN || "";
const READ_TOKEN = process.env.READ_TOKEN || "";

const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

mkdirSync(SHOTS, { recursive: true });

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function log(...parts) {
  console.error("  ·", ...parts);
}

/** Screenshots the current page at desktop width, then the same URL at phone width. */
async function shoot(page, phone, name) {
  await assertNoHorizontalScroll(page, `${name} (desktop)`);
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  const response = await phone.goto(page.url(), { waitUntil: "networkidle" });
  check(response && response.status() < 500, `${name}: phone load of ${page.url()} failed`);
  await assertNoHorizontalScroll(phone, name);
  await phone.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
}

/** The page itself must never scroll sideways (wide tables and trees scroll inside their box). */
async function assertNoHorizontalScroll(page, name) {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  check(overflow <= 1, `${name}: the layout is ${overflow}px wider than the screen`);
}

/** Charts on a phone: each image loaded its narrow source and fits the screen. */
async function assertPhoneCharts(phone, selector, name) {
  await imagesLoaded(phone, selector);
  const charts = await phone.evaluate((sel) => [...document.querySelectorAll(sel)].map((i) => ({
    id: i.id || i.alt,
    src: i.currentSrc,
    width: i.getBoundingClientRect().width,
    natural: i.naturalWidth,
  })), selector);
  const viewport = await phone.evaluate(() => window.innerWidth);
  for (const c of charts) {
    check(/[?&]layout=narrow(&|$)/.test(c.src), `${name}: ${c.id} loaded ${c.src}, not the narrow chart`);
    check(c.width <= viewport, `${name}: ${c.id} is ${c.width}px wide on a ${viewport}px screen`);
  }
  log(`${name}: ${charts.length} narrow chart(s) on the phone, ${charts.map((c) => Math.round(c.width)).join(", ")}px wide`);
}

/** Drops `files` ({name, type, text}) onto the element matched by `selector`, as a user would. */
async function dropFiles(page, selector, files) {
  const dataTransfer = await page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([f.text], f.name, { type: f.type }));
    return dt;
  }, files);
  await page.dispatchEvent(selector, "dragenter", { dataTransfer });
  await page.dispatchEvent(selector, "dragover", { dataTransfer });
  await page.dispatchEvent(selector, "drop", { dataTransfer });
}

/** True once every image matched has loaded with a real size. */
async function imagesLoaded(page, selector) {
  await page.waitForFunction(
    (sel) => {
      const imgs = [...document.querySelectorAll(sel)];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    },
    selector,
    { timeout: 30_000 },
  );
}

/** Counts CSV records, honouring quoted fields that contain newlines. */
function countCsvRecords(text) {
  let records = 0;
  let inQuotes = false;
  let sawField = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (ch === "\n" && !inQuotes) {
      if (sawField) records++;
      sawField = false;
      continue;
    }
    if (ch !== "\r") sawField = true;
  }
  if (sawField) records++;
  return records;
}

async function customersTotal(page) {
  const text = await page.textContent("#customers-count");
  const m = text && text.match(/([\d,]+) customers?/);
  check(m, `no customer count in "${text}"`);
  return Number(m[1].replace(/,/g, ""));
}

async function firstRowIndex(page) {
  return Number(await page.textContent("#customers-table tbody tr:first-child td:first-child"));
}

async function openTab(page, slug, runUrl) {
  await page.click(`#tab-${slug}`);
  await page.waitForURL(`${runUrl}/${slug}`);
  await page.waitForSelector(`#tab-${slug}[aria-selected="true"]`);
}

// ---- GraphiQL -----------------------------------------------------------------------------

/** Replaces the text of the CodeMirror editor matched by `selector`, as typed text (no
 * auto-closed brackets, which `keyboard.type` would add). */
async function setEditorText(page, selector, text) {
  await page.click(`${selector} .CodeMirror-lines`);
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.insertText(text);
  // GraphiQL takes in an edit (the operation name, the headers) 100 ms after the last change;
  // a person takes longer than that to reach Ctrl-Enter.
  await page.waitForTimeout(300);
}

/** Runs the query editor's text with Ctrl-Enter and returns GraphiQL's response, parsed, once
 * the operation has ended: the run button is "Stop" until then, for a subscription until the
 * server completes it. */
async function runInGraphiql(page, query) {
  await setEditorText(page, ".graphiql-query-editor", query);
  const before = await responseText(page);
  await page.keyboard.press("ControlOrMeta+Enter");
  await page.waitForFunction(
    ([before]) => {
      const text = document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror.getValue();
      return text && text !== before && text.trim().endsWith("}");
    },
    [before],
    { timeout: 30_000 },
  );
  await page.waitForSelector('button.graphiql-execute-button[aria-label^="Execute"]', { timeout: 30_000 });
  const text = await responseText(page);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`GraphiQL shows no JSON response: ${text.slice(0, 300)}`);
  }
}

async function responseText(page) {
  return page.evaluate(() => document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror.getValue() ?? "");
}

/** Opens GraphiQL (the page must be allowed to: no tokens, or signed in) and checks what a user
 * of it needs: the schema in Docs, completion, a query and a subscription to `runId`, a finished
 * run, over the websocket. */
async function graphiqlWorks(page, runId) {
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(`${BASE_URL}/graphql`);
  await page.waitForSelector(".graphiql-container", { timeout: 30_000 });
  check((await page.title()).includes("SegmentIQ"), `GraphiQL's title is "${await page.title()}"`);
  check(await page.locator('.gq-bar a[href="/"]').count() > 0, "GraphiQL has no way back to the app");
  check(await page.locator('link[rel="icon"][href="/static/favicon.svg"]').count() === 1, "GraphiQL has no favicon");
  // Dark: GraphiQL's own class, and its base colour is the app's card surface, not white.
  const dark = await page.evaluate(() => ({
    body: document.body.classList.contains("graphiql-dark"),
    base: getComputedStyle(document.querySelector(".graphiql-container")).getPropertyValue("--color-base").trim(),
  }));
  check(dark.body && dark.base.replace(/\s/g, "") === "222,18%,11%", `GraphiQL is not in the dark theme: ${JSON.stringify(dark)}`);

  // Docs come from GraphiQL's own introspection query: refused or empty, they list no root type.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  const queryRoot = page.locator(".graphiql-doc-explorer-content").getByText("QueryRoot", { exact: true });
  await queryRoot.waitFor({ timeout: 30_000 });
  await queryRoot.click();
  await page.locator(".graphiql-doc-explorer-content").getByText("runs", { exact: true }).waitFor();
  log("GraphiQL Docs list QueryRoot and its fields");

  // Completion from the same schema.
  await setEditorText(page, ".graphiql-query-editor", "");
  await page.keyboard.type("{ datase");
  const hints = page.locator(".CodeMirror-hints");
  await hints.waitFor({ timeout: 10_000 });
  const offered = await hints.locator("li").allTextContents();
  check(offered.some((h) => h.startsWith("datasets")), `completion offers ${JSON.stringify(offered)}`);
  await page.keyboard.press("Escape");

  // A query, over POST.
  const query = await runInGraphiql(page, `query Check { run(id: "${runId}") { id status } datasets(first: 5) { totalCount } }`);
  check(!query.errors && query.data.run.id === String(runId), `GraphiQL's query answered ${JSON.stringify(query)}`);
  check(query.data.datasets.totalCount >= 1, `GraphiQL counts ${query.data.datasets.totalCount} datasets`);

  // A subscription, over graphql-transport-ws: a finished run sends its state and ends.
  const progress = await runInGraphiql(page, `subscription { runProgress(runId: "${runId}") { status stage fraction } }`);
  check(!progress.errors && progress.data.runProgress.status === "SUCCEEDED" && progress.data.runProgress.fraction === 1,
    `GraphiQL's subscription answered ${JSON.stringify(progress)}`);
  check(sockets.some((u) => u.endsWith("/graphql/ws")), `the subscription did not use /graphql/ws (sockets: ${sockets})`);
  log(`GraphiQL ran a query and a subscription to run ${runId}: ${progress.data.runProgress.status}`);
}

/** With the session cookie gone, a token typed into GraphiQL's Headers tab must carry both the
 * query (POST) and the subscription (the websocket's connection_init). */
async function graphiqlWithTokenHeader(page, token, runId) {
  const context = await page.context().browser().newContext({ viewport: DESKTOP });
  try {
    await context.addCookies(await page.context().cookies());
    const gq = await context.newPage();
    await gq.goto(`${BASE_URL}/graphql`);
    await gq.waitForSelector(".graphiql-container", { timeout: 30_000 });
    await context.clearCookies();
    // Without the header, the cookie's absence is noticed (so the check below means something).
    const refused = await runInGraphiql(gq, `{ run(id: "${runId}") { status } }`);
    check(refused.errors && refused.errors[0].extensions?.code === "UNAUTHENTICATED", `no cookie, no token, yet: ${JSON.stringify(refused)}`);
    await gq.click('.graphiql-editor-tools button:has-text("Headers")');
    await setEditorText(gq, ".graphiql-editor-tool .graphiql-editor:not(.hidden)", `{"Authorization": "Bearer ${token}"}`);
    const query = await runInGraphiql(gq, `{ run(id: "${runId}") { status } }`);
    check(query.data?.run?.status === "SUCCEEDED", `with the Authorization header, the query answered ${JSON.stringify(query)}`);
    const progress = await runInGraphiql(gq, `subscription { runProgress(runId: "${runId}") { status } }`);
    check(progress.data?.runProgress?.status === "SUCCEEDED", `with the Authorization header, the subscription answered ${JSON.stringify(progress)}`);
    log("GraphiQL's Authorization header carries queries and subscriptions");
  } finally {
    await context.close();
  }
}

// ---- Printable report ---------------------------------------------------------------------

/** Counts the pages of a PDF: its `/Type /Page` objects (not the `/Type /Pages` tree). */
function pdfPages(pdf) {
  return (pdf.toString("latin1").match(/\/Type\s*\/Page(?![A-Za-z])/g) || []).length;
}

/** The printable report, opened from the run's header: a light page with the analyst's names
 * and notes and every chart on white; printed, its screen-only bar is gone, colours and page
 * breaks hold, and "Save as PDF" gives a document of several pages. */
async function printableReport(page, phone, runUrl) {
  await page.click("#report-link");
  await page.waitForURL(`${runUrl}/report`);
  await page.waitForSelector("#report-overview");
  await imagesLoaded(page, ".paper img");
  const name = await page.textContent("#report-segment-0-name");
  check(name.includes("Loyal families"), `the report calls segment 0 "${name}"`);
  const note = (await page.textContent("#report-segment-0-note")).trim();
  check(note === "Call before Genna", `the report's note on segment 0 is "${note}"`);
  const charts = await page.locator(".paper img").evaluateAll((imgs) => imgs.map((i) => i.getAttribute("src")));
  check(charts.length === 5 && charts.every((src) => src.includes("theme=light")), `report charts: ${charts}`);
  check(await page.locator("nav, form, .site-header").count() === 0, "the report has navigation or forms");
  check(await page.locator("#print-report").isVisible(), "no print button on screen");
  const paper = await page.evaluate(() => getComputedStyle(document.querySelector(".paper")).backgroundColor);
  check(paper === "rgb(255, 255, 255)", `the report's paper is ${paper}`);
  await shoot(page, phone, "15-run-report");

  // As printed.
  await page.emulateMedia({ media: "print" });
  check(!(await page.locator("#report-bar").isVisible()), "the print bar is shown in print");
  const print = await page.evaluate(() => ({
    adjust: getComputedStyle(document.documentElement).printColorAdjust,
    breaks: [...document.querySelectorAll(".report-section")].map((s) => getComputedStyle(s).breakBefore),
    avoid: getComputedStyle(document.querySelector(".segment")).breakInside,
    overflow: [...document.querySelectorAll(".paper img")].filter((i) => i.getBoundingClientRect().width > document.querySelector(".paper").clientWidth + 1).length,
  }));
  check(print.adjust === "exact", `print-color-adjust is ${print.adjust}`);
  check(print.breaks[0] !== "page" && print.breaks.slice(1).every((b) => b === "page"), `section breaks ${print.breaks}`);
  check(print.avoid === "avoid", `a segment breaks inside: ${print.avoid}`);
  check(print.overflow === 0, `${print.overflow} charts are wider than the page`);
  await page.screenshot({ path: join(SHOTS, "15-run-report-print.png"), fullPage: true });
  const pdf = await page.pdf({ path: join(SHOTS, "..", "report.pdf"), format: "A4", printBackground: true });
  const pages = pdfPages(pdf);
  check(pages > 1, `the PDF has ${pages} page(s)`);
  log(`printable report: ${charts.length} light charts, PDF of ${pages} pages (${pdf.length} bytes)`);
  await page.emulateMedia({ media: "screen" });

  await page.click("#back-to-run");
  await page.waitForURL(runUrl);
  await page.waitForSelector("#tab-overview");
}

// ---- Tests --------------------------------------------------------------------------------

async function mainFlow(page, phone) {
  const sample = readFileSync(SAMPLE, "utf8");
  const sampleRows = countCsvRecords(sample) - 1;

  // Datasets page, upload by drag and drop.
  const first = await page.goto(`${BASE_URL}/`);
  check(first.status() === 200, `GET / answered ${first.status()}`);
  await page.waitForSelector("#upload-zone");
  await shoot(page, phone, "01-datasets-empty");
  await dropFiles(page, "[data-dropzone]", [
    { name: "ethiopian_supermarket_customers.csv", type: "text/csv", text: sample },
  ]);
  await page.waitForURL(/\/datasets\/\d+$/, { timeout: 60_000 });
  const datasetUrl = page.url();
  log("uploaded by drag and drop:", datasetUrl);

  // Dataset page: profile, preview, run form with tooltips.
  await page.waitForSelector("#columns-table");
  const h1 = await page.textContent("h1");
  check(h1.includes("ethiopian_supermarket_customers"), `dataset page heading is "${h1}"`);
  const header = await page.textContent("main .page-head p");
  check(header.includes(`${sampleRows.toLocaleString("en-US")} rows`) || header.includes(`${sampleRows} rows`),
    `dataset header "${header}" does not say ${sampleRows} rows`);
  const previewRows = await page.locator("#preview-table tbody tr").count();
  check(previewRows > 0, "the preview shows no rows");
  const tipCount = await page.locator("#run-form [role=tooltip]").count();
  check(tipCount >= 10, `only ${tipCount} tooltips on the run form`);
  await page.focus("#run-form .tip-btn");
  const tipVisible = await page.locator("#run-form .tip-btn:focus + [role=tooltip]").isVisible();
  check(tipVisible, "a focused tooltip button does not show its tip");
  await page.keyboard.press("Escape");
  await shoot(page, phone, "02-dataset");

  // A segment count the rules refuse: the message appears beside the field, which takes the
  // focus, and the form keeps what was typed.
  await page.check("#method-ward");
  await page.check("#mode-k");
  await page.fill("#n_clusters", "1");
  await page.click("#start-run");
  await page.waitForSelector("#n_clusters-error", { timeout: 10_000 });
  const refusal = await page.textContent("#n_clusters-error");
  check(refusal.includes("Segments wanted must be at least 2"), `the refusal says "${refusal}"`);
  // htmx moves the focus to the `autofocus` field when the swap settles, a moment after the
  // message appears: wait for it (a loaded machine once checked in between).
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "n_clusters",
    null, { timeout: 5_000 }).catch(() => {});
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  check(focused === "n_clusters", `focus is on "${focused}", not the refused field`);
  check((await page.getAttribute("#n_clusters", "aria-invalid")) === "true", "the field is not marked invalid");
  await assertNoHorizontalScroll(page, "refused run form (desktop)");
  log("a refused segment count is shown beside its field, which has the focus");

  // Start a Ward run with 4 segments.
  await page.check("#method-ward");
  await page.check("#mode-k");
  await page.fill("#n_clusters", "4");
  await page.click("#start-run");
  await page.waitForURL(/\/runs\/\d+$/);
  const runUrl = page.url();
  log("started run:", runUrl);

  // Live progress until the results replace it.
  const sawProgress = await page
    .waitForSelector("#progress [role=progressbar]", { timeout: 5_000 })
    .then(() => true, () => false);
  if (sawProgress) {
    await page.screenshot({ path: join(SHOTS, "03-run-progress-desktop.png"), fullPage: true });
  }
  await page.waitForSelector("#tab-overview", { timeout: RUN_TIMEOUT });
  const status = await page.textContent("#run-status");
  check(status.trim() === "succeeded", `run status is "${status}"`);
  check(page.url() === runUrl, `the page moved to ${page.url()} while the run finished`);
  log(`run finished (progress bar ${sawProgress ? "seen" : "skipped: run was faster than the page"})`);

  // Overview.
  const segments = (await page.textContent("#segment-count")).trim();
  check(segments === "4", `overview shows ${segments} segments, expected 4`);
  const band = await page.textContent("#silhouette");
  check(/Excellent|Good|Fair|Poor/.test(band), `no silhouette band in "${band}"`);
  await imagesLoaded(page, "#tab-panel img");
  await shoot(page, phone, "04-run-overview");
  await assertPhoneCharts(phone, "#tab-panel img", "overview");

  // Every other tab, each at its own URL.
  await openTab(page, "segments", runUrl);
  const cards = await page.locator("#segment-cards article").count();
  check(cards === 4, `${cards} segment cards, expected 4`);
  await shoot(page, phone, "05-run-segments");
  // On a phone the page itself is no wider than the screen (tables scroll in their own box),
  // and no column name breaks inside a word.
  const segmentsWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(segmentsWidth <= PHONE.width, `segments tab is ${segmentsWidth}px wide on a ${PHONE.width}px phone`);
  const midWord = await phone.evaluate(() => {
    // Every word between allowed breaks (spaces, and the <wbr> after an underscore) must sit
    // on one line.
    const broken = [];
    const cells = document.querySelectorAll(".profile-table th[scope=row], .segment-card h3 > span");
    for (const cell of cells) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const re = /\S+/g;
        for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          if (lines.size > 1) broken.push(m[0]);
        }
      }
    }
    return broken;
  });
  check(midWord.length === 0, `column names broken inside a word: ${midWord.join(", ")}`);
  await phone.screenshot({ path: join(SHOTS, "05-run-segments-phone-375.png"), fullPage: true });

  // Name the first segment and keep a note on it; the card and the overview use the name.
  await page.click("#segment-0 summary");
  await page.fill("#segment-0-name-input", "Loyal families");
  await page.fill("#segment-0-note-input", "Call before Genna");
  await page.click("#segment-0 button[type=submit]");
  await page.waitForSelector("#segment-0-note");
  const named = (await page.textContent("#segment-0-name")).trim();
  check(named === "Loyal families", `the first card is called "${named}"`);
  const note = (await page.textContent("#segment-0-note")).trim();
  check(note === "Call before Genna", `the first card's note is "${note}"`);
  check(page.url().startsWith(`${runUrl}/segments`), `naming moved the page to ${page.url()}`);

  await openTab(page, "dendrogram", runUrl);
  await imagesLoaded(page, "#dendrogram-img");
  const desktopSrc = await page.evaluate(() => document.getElementById("dendrogram-img").currentSrc);
  check(!desktopSrc.includes("layout=narrow"), `the desktop loaded the phone's dendrogram: ${desktopSrc}`);
  const before = await page.evaluate(() => document.getElementById("dendrogram-img").clientWidth);
  await page.click('[data-zoom="in"]');
  const after = await page.evaluate(() => document.getElementById("dendrogram-img").clientWidth);
  check(after > before, `zooming in did not enlarge the dendrogram (${before} -> ${after})`);
  await page.click('[data-zoom="reset"]');
  await shoot(page, phone, "06-run-dendrogram");
  await assertPhoneCharts(phone, "#dendrogram-img", "dendrogram");

  await openTab(page, "map", runUrl);
  await imagesLoaded(page, "#map-img");
  await shoot(page, phone, "07-run-map");
  await assertPhoneCharts(phone, "#map-img", "map");

  await openTab(page, "quality", runUrl);
  await imagesLoaded(page, "#silhouette-img");
  await imagesLoaded(page, "#k-sweep-img");
  const suggested = await page.textContent("#suggested-k");
  check(/^\d+$/.test(suggested.trim()), `suggested k is "${suggested}"`);
  await shoot(page, phone, "08-run-quality");
  await assertPhoneCharts(phone, "#silhouette-img, #k-sweep-img", "quality");

  // Keyboard: arrow keys move between tabs, Enter opens one.
  await page.focus("#tab-quality");
  await page.keyboard.press("ArrowRight");
  check(await page.evaluate(() => document.activeElement.id) === "tab-customers", "ArrowRight did not reach the Customers tab");
  await page.keyboard.press("Enter");
  await page.waitForURL(`${runUrl}/customers`);
  await page.waitForSelector("#customers-table");

  // Customers: numbered pages (back at the top of the page after each), sorting, search.
  const total = await customersTotal(page);
  check(total === sampleRows, `customers tab counts ${total}, the file has ${sampleRows} rows`);
  check(/^\s*1–50 of [\d,]+ customers/.test(await page.textContent("#customers-count")), "the count does not say 1–50 of all");
  check(await page.isVisible("#fit-explained"), "Fit is not explained");
  const firstPage = await firstRowIndex(page);
  await page.click("#next-page");
  await page.waitForURL(/page=2/);
  const secondPage = await firstRowIndex(page);
  check(secondPage > firstPage, `next page starts at row ${secondPage}, after ${firstPage}`);
  await page.waitForFunction(() => window.scrollY === 0, null, { timeout: 5000 }).catch(() => {});
  check(await page.evaluate(() => window.scrollY) === 0, "paging left the page scrolled down at the pager");
  check(await page.textContent(".pager [aria-current=page]") === "2", "the pager does not mark page 2");
  await shoot(page, phone, "09-run-customers");

  // Back and forward restore the pages; a reload gives the same page as a full load.
  await page.goBack();
  await page.waitForURL(`${runUrl}/customers`);
  check(await firstRowIndex(page) === firstPage, "back did not return to the first page of customers");
  await page.goForward();
  await page.waitForURL(/page=2/);
  check(await firstRowIndex(page) === secondPage, "forward did not return to the second page");
  await page.reload();
  check(await firstRowIndex(page) === secondPage, "reload lost the page of customers");
  check(await page.locator("header.site-header").count() === 1, "a reload rendered a partial page");
  await page.click("#previous-page");
  await page.waitForURL(`${runUrl}/customers`);
  check(await firstRowIndex(page) === firstPage, "Previous did not return to the first page");

  // Sorting: a heading sorts by its column, a second click turns the order round.
  await page.click("#customers-table th >> text=total_spend");
  await page.waitForURL(/sort=column%3Atotal_spend/);
  const spends = async () => (await page.locator("#customers-table tbody tr td:nth-child(8)").allTextContents()).map((t) => Number(t.replace(/,/g, "")));
  const up = await spends();
  check(up.every((v, i) => i === 0 || up[i - 1] <= v), `total_spend ascending is ${up.slice(0, 5)}…`);
  await page.click("#customers-table th >> text=total_spend");
  await page.waitForURL(/dir=desc/);
  const down = await spends();
  check(down.every((v, i) => i === 0 || down[i - 1] >= v) && down[0] >= up[up.length - 1], `total_spend descending is ${down.slice(0, 5)}…`);
  check(await page.getAttribute("#customers-table th[aria-sort]", "aria-sort") === "descending", "the sorted heading is not marked");
  await shoot(page, phone, "09b-customers-sorted");

  // Search by identifier, keeping the sort.
  await page.fill("#customer-search", "c000012");
  await page.press("#customer-search", "Enter");
  await page.waitForURL(/q=c000012/);
  const ids = await page.locator("#customers-table tbody tr td:nth-child(4)").allTextContents();
  check(ids.length > 0 && ids.every((t) => t.trim().startsWith("C000012")), `search found ${ids}`);
  check(await customersTotal(page) === ids.length, "the count disagrees with the rows found");
  await page.click("#clear-search");
  // The link goes with the search, once the unsearched table has arrived.
  await page.waitForURL((url) => !url.searchParams.has("q"));
  await page.waitForSelector("#clear-search", { state: "detached" });
  check(await customersTotal(page) === total, "show all did not bring every customer back");
  await page.goto(`${runUrl}/customers`);

  await page.selectOption("#segment", "1");
  await page.waitForURL(/segment=1/);
  await page.waitForSelector("#customers-table");
  const inSegment = await customersTotal(page);
  check(inSegment > 0 && inSegment < total, `segment 1 has ${inSegment} of ${total} customers`);
  const segCells = await page.locator("#customers-table tbody tr td:nth-child(2)").allTextContents();
  check(segCells.every((t) => t.trim().startsWith("1")), "the filter shows customers of other segments");

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-csv")]);
  const csvPath = join(SHOTS, "..", "segment-1.csv");
  await download.saveAs(csvPath);
  const downloaded = countCsvRecords(readFileSync(csvPath, "utf8")) - 1;
  check(downloaded === inSegment, `the CSV has ${downloaded} rows, the page says ${inSegment}`);
  log(`customers: ${total} in all, ${inSegment} in segment 1, CSV rows ${downloaded}`);

  await newCustomers(page, phone, runUrl, sample);

  await printableReport(page, phone, runUrl);

  // GraphiQL, against this run; then the page at both widths, and the Docs on a phone.
  await graphiqlWorks(page, runUrl.match(/\d+$/)[0]);
  await shoot(page, phone, "14-graphiql");
  await phone.click('button[aria-label="Show Documentation Explorer"]');
  await phone.locator(".graphiql-doc-explorer-content").getByText("QueryRoot", { exact: true }).waitFor({ timeout: 30_000 });
  await assertNoHorizontalScroll(phone, "GraphiQL with its Docs open (phone)");
  await phone.screenshot({ path: join(SHOTS, "14-graphiql-docs-phone.png") });
  await phone.click('button[aria-label="Hide Documentation Explorer"]');
  const onPhone = await runInGraphiql(phone, `subscription { runProgress(runId: "${runUrl.match(/\d+$/)[0]}") { status stage fraction } }`);
  check(onPhone.data?.runProgress?.status === "SUCCEEDED", `GraphiQL on a phone answered ${JSON.stringify(onPhone)}`);
  await assertNoHorizontalScroll(phone, "GraphiQL with a response (phone)");
  await phone.screenshot({ path: join(SHOTS, "14-graphiql-response-phone.png") });

  // Unknown ids give a 404 page, not a bare status.
  for (const path of ["/datasets/987654321", `${runUrl.replace(/\d+$/, "987654321")}`, "/no/such/page"]) {
    const res = await page.goto(`${BASE_URL}${path.replace(BASE_URL, "")}`);
    check(res.status() === 404, `${path} answered ${res.status()}`);
    await page.waitForSelector("#error-page");
  }
  await shoot(page, phone, "10-not-found");

  // Delete the run, then the dataset, confirming both dialogs.
  page.on("dialog", (d) => d.accept());
  await page.goto(runUrl);
  await page.click("#delete-run");
  await page.waitForURL(datasetUrl);
  await page.waitForSelector("#run-form");
  check(await page.locator(`#runs-table a[href="${new URL(runUrl).pathname}"]`).count() === 0, "the deleted run is still listed");
  await page.click("#delete-dataset");
  await page.waitForURL(`${BASE_URL}/`);
  await page.waitForSelector("#upload-zone");
  check(await page.locator(`a[href="${new URL(datasetUrl).pathname}"]`).count() === 0, "the deleted dataset is still listed");
  const gone = await page.goto(datasetUrl);
  check(gone.status() === 404, `the deleted dataset answered ${gone.status()}`);
}

// New customers placed in the run's segments from its tab: a refused file keeps the form and
// says why; a good one shows every customer with its segment, and the download agrees.
async function newCustomers(page, phone, runUrl, sample) {
  await openTab(page, "new-customers", runUrl);
  await page.waitForSelector("#scoring-upload");
  const lines = sample.trim().split(/\r?\n/);
  const header = lines[0];
  await page.setInputFiles("#scoring-file", { name: "words.csv", mimeType: "text/csv", buffer: Buffer.from(`${header.split(",").slice(0, 2).join(",")}\nx,y\n`) });
  await page.click("#place-customers");
  const refused = await (await page.waitForSelector("#scoring-error")).textContent();
  check(refused.includes("words.csv: the table has no column"), `the refused file says "${refused}"`);
  const fresh = lines.slice(1, 31).join("\n");
  await page.setInputFiles("#scoring-file", { name: "november.csv", mimeType: "text/csv", buffer: Buffer.from(`${header}\n${fresh}\n`) });
  await page.fill("#scoring-name", "November joiners");
  await page.click("#place-customers");
  await page.waitForURL(/new-customers\?scoring=\d+/);
  await page.waitForSelector("#scoring-table");
  check((await page.textContent("#scoring-title")).includes("November joiners"), "the upload's name is not shown");
  check(/1–30 of 30 new customers/.test(await page.textContent("#scoring-count")), "the new customers are not counted");
  const placed = (await page.locator("#scoring-segments tbody td:nth-child(2)").allTextContents()).map(Number);
  check(placed.reduce((a, b) => a + b, 0) === 30, `segments hold ${placed} new customers`);
  await shoot(page, phone, "09c-new-customers");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#scoring-csv")]);
  const csvPath = join(SHOTS, "..", "new-customers.csv");
  await download.saveAs(csvPath);
  const rows = countCsvRecords(readFileSync(csvPath, "utf8")) - 1;
  check(rows === 30, `the new customers' CSV has ${rows} rows`);
  log(`new customers: ${placed.join("+")} placed, CSV rows ${rows}`);
}

async function brokenUpload(page, phone) {
  await page.goto(`${BASE_URL}/`);
  await page.waitForSelector("#upload-zone");
  // Line 4 (the third data row) has one field too many.
  const broken = "customer_id,age,region\n1,34,Oromia\n2,51,Amhara\n3,28,Tigray,extra\n4,40,Afar\n";
  await dropFiles(page, "[data-dropzone]", [{ name: "broken.csv", type: "text/csv", text: broken }]);
  const error = await page.waitForSelector("#upload-error", { timeout: 30_000 });
  const text = await error.textContent();
  check(text.includes("line 4"), `the upload error does not name line 4: "${text}"`);
  check(page.url() === `${BASE_URL}/`, `the page moved to ${page.url()}`);
  check(await page.locator("#load-sample").count() === 1, "the page lost its content after the error");
  await shoot(page, phone, "11-upload-error");
  // The page did not navigate away, and no dataset was stored.
  const names = await page.locator("#datasets-table a").allTextContents();
  check(!names.includes("broken"), "the broken file was stored as a dataset");

  // A file over the limit is refused before it is sent.
  const max = Number(await page.getAttribute("#upload-zone", "data-max-bytes"));
  if (max > 0 && max <= 64 * 1024 * 1024) {
    await dropFiles(page, "[data-dropzone]", [{ name: "huge.csv", type: "text/csv", text: "a,b\n" + "1,2\n".repeat(Math.ceil(max / 4) + 1) }]);
    const big = await page.textContent("#upload-error");
    check(big.includes("larger than the upload limit"), `no size error: "${big}"`);
  }

  // The bundled sample loads with one click, and can be deleted again.
  page.on("dialog", (d) => d.accept());
  await page.click("#load-sample");
  await page.waitForURL(/\/datasets\/\d+$/, { timeout: 60_000 });
  await page.waitForSelector("#columns-table");
  const sampleName = await page.textContent("h1");
  check(sampleName.includes("sample"), `the sample dataset is called "${sampleName}"`);
  await page.click("#delete-dataset");
  await page.waitForURL(`${BASE_URL}/`);
  await page.waitForSelector("#upload-zone");
}

/** Fills the sign-in form and submits it. */
async function signIn(page, token) {
  await page.waitForSelector("#login-form");
  await page.fill("#token", token);
  await Promise.all([page.waitForNavigation(), page.click("#sign-in")]);
}

async function signInFlow(page, phone) {
  // Not signed in: any page sends the browser to the sign-in page, which knows the way back.
  await page.goto(`${BASE_URL}/`);
  check(new URL(page.url()).pathname === "/login", `not sent to /login but to ${page.url()}`);
  check(new URL(page.url()).searchParams.get("next") === "/", `next is lost: ${page.url()}`);
  await shoot(page, phone, "12-sign-in");

  // A wrong token is refused with a message and no cookie.
  await signIn(page, "not-the-token");
  const error = await page.textContent("#login-error");
  check(error.includes("neither the full-access token"), `no clear message: "${error}"`);
  check((await page.context().cookies()).length === 0, "a wrong token set a cookie");

  // The full token: back to the page asked for, with every control; a run's charts and CSV load.
  await signIn(page, FULL_TOKEN);
  check(page.url() === `${BASE_URL}/`, `signed in to ${page.url()}`);
  const [cookie] = await page.context().cookies();
  check(cookie && cookie.httpOnly && cookie.sameSite === "Lax", `session cookie ${JSON.stringify(cookie)}`);
  await page.goto(`${BASE_URL}/`);
  await page.click("#load-sample");
  await page.waitForURL(/\/datasets\/\d+$/, { timeout: 60_000 });
  const datasetUrl = page.url();
  await page.check("#method-ward");
  await page.check("#mode-k");
  await page.fill("#n_clusters", "3");
  await page.click("#start-run");
  await page.waitForURL(/\/runs\/\d+$/);
  const runUrl = page.url();
  await page.waitForSelector("#tab-overview", { timeout: RUN_TIMEOUT });
  await imagesLoaded(page, "#tab-panel img");
  const csv = await page.evaluate(async (url) => (await fetch(url)).status, `${runUrl}/customers.csv`);
  check(csv === 200, `the signed-in CSV download answered ${csv}`);
  await graphiqlWorks(page, runUrl.match(/\d+$/)[0]);
  await graphiqlWithTokenHeader(page, READ_TOKEN, runUrl.match(/\d+$/)[0]);

  // Sign out: the pages ask again.
  await page.goto(`${BASE_URL}/login`);
  await Promise.all([page.waitForNavigation(), page.click("#sign-out")]);
  await page.goto(runUrl);
  check(new URL(page.url()).pathname === "/login", `signed out, yet ${page.url()} opened`);

  // The read-only token: the same data, without upload, run or delete controls.
  await signIn(page, READ_TOKEN);
  check(page.url() === runUrl, `signed in read-only to ${page.url()}`);
  await page.waitForSelector("#tab-overview");
  check(await page.locator("#delete-run").count() === 0, "a read-only viewer sees Delete run");
  await page.goto(datasetUrl);
  await page.waitForSelector("#columns-table");
  check(await page.locator("#delete-dataset, #run-form").count() === 0, "a read-only viewer sees change controls");
  await page.goto(`${BASE_URL}/`);
  check(await page.locator("#upload-zone, #load-sample").count() === 0, "a read-only viewer sees the upload zone");
  await page.waitForSelector("#read-only-note");
  await page.screenshot({ path: join(SHOTS, "13-read-only-desktop.png"), fullPage: true });
}

// ---- Runner -------------------------------------------------------------------------------

const tests = FULL_TOKEN
  ? [["signing in with the full and the read-only token, signing out", signInFlow]]
  : [
      ["upload by drag and drop, Ward run with 4 segments, every tab, customers, CSV, deletes", mainFlow],
      ["a broken CSV shows its line inline, a too large file is refused, the sample loads", brokenUpload],
    ];

const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
let passed = 0;
let failed = 0;
for (const [name, run] of tests) {
  const desktop = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  const mobile = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const page = await desktop.newPage();
  const phone = await mobile.newPage();
  page.setDefaultTimeout(20_000);
  phone.setDefaultTimeout(20_000);
  const pageErrors = [];
  for (const p of [page, phone]) {
    p.on("pageerror", (e) => pageErrors.push(String(e)));
    p.on("console", (m) => {
      // The browser reports every 4xx answer; the tests provoke 404s and 422s on purpose.
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
    });
  }
  const started = Date.now();
  try {
    await run(page, phone);
    check(pageErrors.length === 0, `script errors in the page: ${pageErrors.join(" | ")}`);
    passed++;
    console.error(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (e) {
    failed++;
    console.error(`FAIL ${name}: ${e.message}`);
    const slug = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40);
    await page.screenshot({ path: join(SHOTS, `failed-${slug}.png`), fullPage: true }).catch(() => {});
    writeFileSync(join(SHOTS, `failed-${slug}.html`), await page.content().catch(() => ""));
  } finally {
    await desktop.close();
    await mobile.close();
  }
}
await browser.close();
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
