"""The dashboard and the OBS overlay in real Chromium against a real server (tiny Kokoro model, real SQLite)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests import dbutil
from tests.helpers import wait_for
from tests.web.browser.conftest import measure, screenshot

#: Records, in order, every caption word that becomes the current one (installed before the page's scripts).
RECORD_HIGHLIGHTS = """
window.__highlights = [];
new MutationObserver((mutations) => {
  for (const m of mutations) {
    const t = m.target;
    if (t.classList && t.classList.contains("word") && t.classList.contains("current")) {
      window.__highlights.push([[...t.parentNode.querySelectorAll(".word")].indexOf(t),
                                document.getElementById("player").currentTime]);
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["class"]});
"""


def base_url(client: Any) -> str:
    return str(client.make_url("")).rstrip("/")


#: Records (wall clock, ms) when each queue row first appears, and when each WebSocket frame arrives.
RECORD_ROWS = """
window.__rowSeen = {};
new MutationObserver((mutations) => {
  for (const m of mutations) for (const node of m.addedNodes) {
    if (node.dataset && node.dataset.id && node.parentNode && node.parentNode.id === "queue-rows"
        && !(node.dataset.id in window.__rowSeen)) window.__rowSeen[node.dataset.id] = Date.now();
  }
}).observe(document, {subtree: true, childList: true});
"""


async def open_dashboard(browser: Any, client: Any) -> Any:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.add_init_script(RECORD_ROWS)
    began = time.perf_counter()
    await page.goto(base_url(client) + "/")
    await page.wait_for_selector("body[data-ready='1']")
    await page.wait_for_selector("#st-connection[data-level='good']")
    measure("dashboard load (navigation -> live)", time.perf_counter() - began)
    timing = await page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
    measure("dashboard DOMContentLoaded (in page)", timing["domContentLoadedEventEnd"] / 1000)
    await page.wait_for_selector("body[data-queue-loaded]")
    first_rows = await page.evaluate("() => performance.getEntriesByName('first-queue-render')[0].startTime")
    measure("dashboard first queue render (in page)", first_rows / 1000)
    return page


async def open_overlay(browser: Any, client: Any, query: str = "") -> Any:
    page = await browser.new_page(viewport={"width": 1280, "height": 360})
    await page.add_init_script(RECORD_HIGHLIGHTS)
    await page.goto(base_url(client) + "/overlay" + query)
    await page.wait_for_selector("body[data-connected='1']")
    return page


async def post(client: Any, user: str, text: str) -> int:
    response = await client.post("/api/messages", json={"sent_by": user, "text": text})
    assert response.status == 202, await response.text()
    return int((await response.json())["id"])


async def wait_ready(client: Any, settings: Any, message_id: int) -> None:
    await wait_for(lambda: dbutil.row(settings.database_url, message_id).get("status") == "ready")


async def test_live_queue_play_on_the_overlay_and_history(start_server: Any, make_settings: Any, browser: Any) -> None:
    settings = make_settings()
    client = await start_server(settings)
    dashboard = await open_dashboard(browser, client)
    overlay = await open_overlay(browser, client, "?size=40&highlight=ffd166&lines=2")
    second_player = await open_overlay(browser, client, "?name=0")  # several players at once
    await dashboard.wait_for_selector("#queue-empty:not([hidden])")
    await screenshot(dashboard, "dashboard-empty")

    # a new line shows up without a reload, well within 200 ms
    for n in range(3):
        sent = time.time()
        message_id = await post(client, f"viewer{n}", f"@streamer this is line number {n}, thanks for the stream")
        await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{message_id}']", timeout=2000)
        seen = await dashboard.evaluate(f"() => window.__rowSeen['{message_id}']")
        measure("POST sent -> row in the page", seen / 1000 - sent)
        await asyncio.sleep(0.3)
    row = dashboard.locator(f"#queue-rows tr[data-id='{message_id}']")
    assert await row.locator("td.who .name").text_content() == "viewer2"
    assert await row.locator("td.says").text_content() == "this is line number 2, thanks for the stream"
    first = message_id - 2
    await wait_ready(client, settings, first)
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{first}'] .s-ready")
    assert await dashboard.locator("#btn-play").is_enabled()

    await dashboard.click("#btn-play")
    await overlay.wait_for_selector(f"body[data-playing='{first}']")
    await overlay.wait_for_function("() => document.getElementById('player').currentTime > 0.05")
    await overlay.wait_for_selector("#caption:not([hidden]) .word.current")
    assert await overlay.locator("#caption-name").text_content() == "viewer0"
    look = await overlay.evaluate("""() => ({size: getComputedStyle(document.getElementById('caption')).fontSize,
        current: getComputedStyle(document.querySelector('.word.current')).color,
        body: getComputedStyle(document.body).backgroundColor})""")
    assert look == {"size": "40px", "current": "rgb(255, 209, 102)", "body": "rgba(0, 0, 0, 0)"}  # ?size, ?highlight
    await screenshot(overlay, "overlay-playing")
    captions = await (await client.get(f"/api/items/{first}/captions")).json()
    await overlay.wait_for_selector(f"body[data-ended='{first}']", timeout=30_000)
    await second_player.wait_for_selector(f"body[data-ended='{first}']", timeout=30_000)  # both report; first wins
    assert await second_player.locator("#caption-name").text_content() == ""  # ?name=0

    words = await overlay.locator("#caption-text .word").all_text_contents()
    assert " ".join(words) == "this is line number 0, thanks for the stream"
    assert words == [w["text"] for w in captions["words"]]  # the server's word timings drive the highlight
    highlights = await overlay.evaluate("() => window.__highlights")
    order = [index for index, _ in highlights]
    assert order == sorted(order) and len(set(order)) >= 2 and order[-1] == len(words) - 1
    for index, at in highlights:  # each word lights up once the audio has reached it (one frame of slack)
        assert at + 0.05 >= captions["words"][index]["start"]
    history = dashboard.locator(f"#history-rows tr[data-id='{first}']")
    await history.wait_for()
    assert "played" in (await history.locator(".badge:not(.lang)").text_content() or "")
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{first}']", state="detached")
    assert dbutil.row(settings.database_url, first)["status"] == "played"
    await screenshot(dashboard, "dashboard-after-play")


#: Records when the overlay starts and ends each item (performance.now() in ms), to check autoplay's cooldown.
RECORD_PLAYS = """
window.__plays = [];
new MutationObserver(() => {
  const body = document.body;
  if (!body) return;
  const last = window.__plays[window.__plays.length - 1];
  const playing = body.dataset.playing || null;
  if (playing && (!last || last.id !== playing)) window.__plays.push({id: playing, start: performance.now()});
  if (body.dataset.ended && last && last.id === body.dataset.ended && !last.end) last.end = performance.now();
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-playing", "data-ended"]});
"""


async def test_stop_autoplay_mode_clear_and_remove(start_server: Any, make_settings: Any, browser: Any) -> None:
    settings = make_settings(autoplay_cooldown=0.6, bits_need_approval=True)
    client = await start_server(settings)
    dashboard = await open_dashboard(browser, client)
    overlay = await browser.new_page()
    await overlay.add_init_script(RECORD_PLAYS)
    await overlay.goto(base_url(client) + "/overlay")
    await overlay.wait_for_selector("body[data-connected='1']")

    # the server's refusal text is shown (the page's state can be stale: here it is forced)
    await dashboard.evaluate("() => { document.getElementById('btn-play').disabled = false; }")
    await dashboard.click("#btn-play")
    await dashboard.wait_for_selector("#control-error:not([hidden])")
    assert "the mentions queue is empty (409)" in (await dashboard.locator("#control-error").text_content() or "")

    ids = [await post(client, f"v{n}", f"@streamer autoplay line {n}") for n in range(3)]
    for message_id in ids:
        await wait_ready(client, settings, message_id)

    # STOP ends the item on the overlay and counts it as played
    await dashboard.click("#btn-play")
    await overlay.wait_for_selector(f"body[data-playing='{ids[0]}']")
    await dashboard.wait_for_selector("#btn-stop:enabled")
    await dashboard.click("#btn-stop")
    await overlay.wait_for_selector("body:not([data-playing])")
    assert await overlay.evaluate("() => document.getElementById('player').paused")
    await dashboard.wait_for_selector("#now-playing:text('Nothing playing.')")
    assert dbutil.row(settings.database_url, ids[0])["status"] == "played"

    # SKIP ends the item as skipped (not played)
    skip_id = await post(client, "v", "@streamer skip me")
    await wait_ready(client, settings, skip_id)
    await dashboard.click("#btn-play")
    await overlay.wait_for_selector(f"body[data-playing='{ids[1]}']")
    await dashboard.wait_for_selector("#btn-skip:enabled")
    await dashboard.click("#btn-skip")
    await overlay.wait_for_selector("body:not([data-playing])")
    assert dbutil.row(settings.database_url, ids[1])["status"] == "skipped"
    ids = [ids[0], ids[2], skip_id]

    # AUTOPLAY: two items one after the other, the cooldown between them
    await dashboard.click("#btn-autoplay")
    await dashboard.wait_for_selector("#btn-autoplay[aria-pressed='true']")
    assert (await dashboard.locator("#autoplay-cooldown").text_content()) == "cooldown 0.6 s"
    await dashboard.click("#btn-play")
    await overlay.wait_for_selector(f"body[data-ended='{ids[2]}']", timeout=30_000)
    plays = await overlay.evaluate("() => window.__plays")
    assert [p["id"] for p in plays[-2:]] == [str(ids[1]), str(ids[2])]
    assert plays[-1]["start"] - plays[-2]["end"] >= 550  # the 0.6 s cooldown (ms, clock granularity aside)
    assert [dbutil.row(settings.database_url, i)["status"] for i in ids[1:]] == ["played", "played"]
    await dashboard.click("#btn-autoplay")
    await dashboard.wait_for_selector("#btn-autoplay[aria-pressed='false']")

    # mode switch: the bits queue becomes active and is shown
    cheer = await client.post("/api/bits", json={"sent_by": "rich", "text": "take my bits", "bits_amount": 500})
    cheer_id = (await cheer.json())["id"]
    await dashboard.click("#btn-mode")
    await dashboard.wait_for_selector("#tab-bits[aria-selected='true']")
    await dashboard.wait_for_selector("#active-bits:not([hidden])")
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{cheer_id}'] .s-held:text('needs approval')")
    assert (await (await client.get("/api/queue")).json())["mode"] == "bits"
    await screenshot(dashboard, "dashboard-bits")
    await dashboard.click(f"#queue-rows tr[data-id='{cheer_id}'] button[aria-label^='Approve']")
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{cheer_id}'] button[aria-label^='Approve']",
                                      state="hidden")
    assert dbutil.row(settings.database_url, cheer_id)["awaiting_approval"] in (0, False)
    await dashboard.click("#btn-mode")
    await dashboard.wait_for_selector("#tab-mentions[aria-selected='true']")
    await dashboard.wait_for_selector("#active-mentions:not([hidden])")

    # CLEAR asks first (with the count); Cancel keeps everything
    doomed = [await post(client, "spam", f"@streamer clear me {n}") for n in range(2)]
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{doomed[1]}']")
    await dashboard.click("#btn-clear")
    assert "Clear 2 items from the mentions queue?" in (await dashboard.locator("#confirm-text").text_content() or "")
    await dashboard.click("#confirm-cancel")
    assert await dashboard.locator("#queue-rows tr").count() == 2
    # a mode switch while the dialog is open: the confirmation names the mentions queue, so the bits stay
    bits_kept = (await (await client.post("/api/bits", json={"sent_by": "c", "text": "keep me",
                                                             "bits_amount": 5})).json())["id"]
    await dashboard.click("#btn-clear")
    await client.put("/api/mode", json={"mode": "bits"})
    await dashboard.click("#confirm-ok")
    await dashboard.locator("#control-error", has_text="not mentions").wait_for()
    assert dbutil.row(settings.database_url, bits_kept)["is_deleted"] in (0, False)
    assert {dbutil.row(settings.database_url, i)["is_deleted"] for i in doomed} == {0}
    await client.put("/api/mode", json={"mode": "mentions"})
    await dashboard.wait_for_selector("#tab-mentions[aria-selected='true']")
    # the page has heard the switch back (the tab alone may still show mentions from before the switch)
    await dashboard.wait_for_selector("#active-mentions:not([hidden])")
    await dashboard.click("#btn-clear")
    await dashboard.click("#confirm-ok")
    await dashboard.wait_for_selector("#queue-empty:not([hidden])")
    assert "Cleared 2 items." in (await dashboard.locator("#control-error").text_content() or "")
    assert {dbutil.row(settings.database_url, i)["deleted_reason"] for i in doomed} == {"cleared"}

    # remove one item with its ✕; the other stays
    keep, drop = [await post(client, "v", f"@streamer remove test {n}") for n in range(2)]
    await dashboard.click(f"#queue-rows tr[data-id='{drop}'] button[aria-label^='Remove']")
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{drop}']", state="detached")
    assert await dashboard.locator(f"#queue-rows tr[data-id='{keep}']").count() == 1
    assert dbutil.row(settings.database_url, drop)["deleted_reason"] == "removed"
    await dashboard.wait_for_selector(f"#history-rows tr[data-id='{drop}'] .o-removed")


async def test_replay_from_history_and_try_a_line(start_server: Any, make_settings: Any, browser: Any) -> None:
    settings = make_settings(banned_words=("badword",), hold_seconds=4.0)
    client = await start_server(settings)
    dashboard = await open_dashboard(browser, client)
    first = await post(client, "alice", "@streamer say it again")
    # a new mention is held for hold_seconds (moderators may remove it meanwhile): the time left counts down
    held = dashboard.locator(f"#queue-rows tr[data-id='{first}'] .s-held")
    assert (await held.text_content() or "") in {"held · 4 s", "held · 3 s"}
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{first}'] .s-held:text('held · 2 s')")
    await client.post("/api/clear")
    entry = dashboard.locator(f"#history-rows tr[data-id='{first}']")
    await entry.locator(".o-cleared").wait_for()

    # replay: a copy at the front of the queue, synthesised again
    await entry.get_by_role("button", name=f"Replay message {first} from alice").click()
    await dashboard.wait_for_selector("#queue-rows tr:first-child td.says:text-is('say it again')")
    copy_id = int(await dashboard.locator("#queue-rows tr:first-child").get_attribute("data-id") or 0)
    assert copy_id > first and dbutil.row(settings.database_url, copy_id)["replay_of"] == first
    await dashboard.wait_for_selector(f"#queue-rows tr[data-id='{copy_id}'] .s-ready", timeout=30_000)  # never held

    # try a line: what would be spoken, and why not
    await dashboard.fill("#try-user", "viewer42")
    await dashboard.fill("#try-text", "@streamer soooooo cool!!!!!! https://example.com")
    await dashboard.click("#try-check")
    await dashboard.wait_for_selector("#try-result[data-kind='spoken']")
    assert await dashboard.locator("#try-result .spoken").text_content() == "sooo cool! link"
    await dashboard.click("#try-hear")
    await dashboard.wait_for_selector("body[data-try-audio='loaded']")
    await dashboard.wait_for_function("() => document.getElementById('preview-audio').currentTime > 0")

    await dashboard.fill("#try-text", "@streamer badword please")
    await dashboard.click("#try-check")
    await dashboard.wait_for_selector("#try-result[data-kind='refused']")
    assert await dashboard.locator("#try-result .reason").text_content() == "banned word"
    assert await dashboard.locator("#try-hear").is_disabled()
    await dashboard.fill("#try-text", "just chatting")
    await dashboard.click("#try-check")
    await dashboard.wait_for_selector("#try-result .reason:text-is('not a mention')")
    # nothing of this was stored
    assert [r["id"] for r in dbutil.rows(settings.database_url)] == [first, copy_id]

    # every control is reachable with the keyboard, in a sensible order
    await dashboard.focus("#btn-play")
    reached = []
    for _ in range(12):
        await dashboard.keyboard.press("Tab")
        reached.append(await dashboard.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
    assert reached[:3] == ["btn-autoplay", "btn-mode", "btn-clear"]  # STOP is disabled: nothing plays
    assert "tab-mentions" in reached and "BUTTON" in reached  # the tab, then the row's ▶ / ✕ buttons
    # 200 % zoom of a 1400 px window (700 CSS px): one column, nothing wider than the window
    await dashboard.set_viewport_size({"width": 700, "height": 900})
    assert await dashboard.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(dashboard, "dashboard-zoom-200", full_page=False)


HOSTILE = ['@streamer <img src=x onerror="window.__pwned=1">', "@streamer <script>window.__pwned=2</script> hi"]


async def test_token_prompt_and_hostile_chat_rendered_as_text(start_server: Any, make_settings: Any,
                                                             browser: Any) -> None:
    settings = make_settings(api_token="right-token")
    client = await start_server(settings)
    headers = {"Authorization": "Bearer right-token"}
    ids = []
    for text in HOSTILE:
        response = await client.post("/api/messages", json={"sent_by": "<b>troll</b>", "text": text}, headers=headers)
        ids.append((await response.json())["id"])

    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.goto(base_url(client) + "/")
    await page.wait_for_selector("#token-dialog[open]")
    assert "needs its API token" in (await page.locator("#auth-problem").text_content() or "")
    await page.fill("#token-input", "wrong-token")
    await page.click("#token-save")
    await page.wait_for_selector("#token-error:not([hidden])")
    assert "wrong token" in (await page.locator("#token-error").text_content() or "")
    await screenshot(page, "dashboard-wrong-token")
    await page.fill("#token-input", "right-token")
    await page.click("#token-save")
    await page.wait_for_selector("body[data-ready='1']")
    await page.wait_for_selector("#st-connection[data-level='good']")
    assert await page.evaluate("() => localStorage.getItem('streamvoice.token')") == "right-token"

    for message_id, text in zip(ids, HOSTILE, strict=True):
        # in the queue, or already in the history if its synthesis failed meanwhile: both render it as text
        row = page.locator(f"#queue-rows tr[data-id='{message_id}'], #history-rows tr[data-id='{message_id}']")
        await row.wait_for()
        assert await row.locator("td.who .name").text_content() == "<b>troll</b>"
        assert await row.locator("td.says").get_attribute("title") == text
    assert await page.locator("main table :is(img, script, b)").count() == 0
    await page.fill("#try-text", HOSTILE[0])
    await page.click("#try-check")
    await page.wait_for_selector("#try-result[data-kind]")  # markup is dropped: nothing left to say, refused
    assert await page.locator("#try-result img").count() == 0
    await screenshot(page, "dashboard-hostile")

    # a reload keeps the token (no prompt); the overlay takes it as ?token= and shows the caption as text
    await page.reload()
    await page.wait_for_selector("#st-connection[data-level='good']")
    assert not await page.locator("#token-dialog").evaluate("(d) => d.open")
    overlay = await open_overlay(browser, client, "?token=right-token")
    await wait_for(lambda: all(dbutil.row(settings.database_url, i)["status"] not in {"pending", "synthesizing"}
                               for i in ids))
    await client.post("/api/clear", headers=headers)
    response = await client.post("/api/messages", json={"sent_by": "<b>troll</b>", "text": HOSTILE[1]},
                                 headers=headers)
    played = (await response.json())["id"]
    await wait_ready(client, settings, played)
    await client.post("/api/play", headers=headers)
    await overlay.wait_for_selector(f"body[data-ended='{played}']", timeout=30_000)
    spoken = dbutil.row(settings.database_url, played)["spoken_text"]
    # tags are never read aloud (the spoken text drops them); the caption shows what is spoken, as text
    assert "<script>" not in spoken and "hi" in spoken
    assert await overlay.locator("#caption-text").text_content() == spoken
    assert await overlay.locator("#caption-name").text_content() == "<b>troll</b>"
    assert await overlay.locator("#caption img, #caption b").count() == 0
    assert await page.evaluate("() => window.__pwned") is None
    assert await overlay.evaluate("() => window.__pwned") is None


async def test_ten_thousand_rows_and_no_engine(start_server: Any, make_settings: Any, browser: Any,
                                               tmp_path: Any) -> None:
    from core.chat import QueueName, Source
    from storage.database import create_database
    from storage.messages import MessageStore, NewMessage

    settings = make_settings(model_dir=str(tmp_path))  # no weights there: the engine stays unavailable
    store = MessageStore(create_database(settings.database_url))
    store.insert_many([NewMessage(queue=QueueName.MENTIONS, source=Source.APP_HTTP, sent_by=f"viewer{n % 97}",
                                  text=f"@streamer backlog line {n}", spoken_text=f"backlog line {n}")
                       for n in range(10_000)])
    store.engine.dispose()
    client = await start_server(settings)

    dashboard = await open_dashboard(browser, client)  # measured: the page load with a 10,000-row queue
    await dashboard.wait_for_selector("#st-engine[data-level='bad']")
    assert (await dashboard.locator("#st-engine").text_content() or "").startswith("unavailable")
    await dashboard.wait_for_selector("#queue-shown:text('showing 100 of 10000')")
    assert await dashboard.locator("#queue-rows tr").count() == 100
    await screenshot(dashboard, "dashboard-long-queue-no-engine", full_page=False)

    began = time.perf_counter()
    await post(client, "late", "@streamer one more")
    await dashboard.wait_for_selector("#queue-shown:text('showing 100 of 10001')")
    measure("POST -> count updated (10,000-row queue)", time.perf_counter() - began)
    began = time.perf_counter()
    await dashboard.click("#queue-more")
    await dashboard.wait_for_selector("#queue-rows tr:nth-child(200)")
    measure("show 100 more (10,000-row queue)", time.perf_counter() - began)
    assert await dashboard.locator("#queue-rows tr").count() == 200

    await dashboard.fill("#try-text", "@streamer can you hear me")
    await dashboard.click("#try-check")
    await dashboard.wait_for_selector("#try-hear:enabled")
    await dashboard.click("#try-hear")
    await dashboard.wait_for_selector("#control-error:not([hidden])")
    assert "engine is not ready" in (await dashboard.locator("#control-error").text_content() or "")
    assert "(503)" in (await dashboard.locator("#control-error").text_content() or "")
