"""Saved replies through the console's JSON API: supervisors keep them (with a guidance link
checked against the pages), advisers use them on a case, the person's name filled in, counted."""

from __future__ import annotations

import asyncio

from tests.support.console_desk import LGPS, LGPS_STAY, Adviser, served


async def post(client, who, path, body):
    async with client.post(
        f"/console/api{path}", json=body, headers={"Cookie": who.cookie, "X-CSRF-Token": who.csrf}
    ) as r:
        return r.status, await r.json()


def test_saved_replies_are_kept_by_supervisors_and_used_by_advisers(console):
    case = console.store.open_case("web-sr", "socketio", "Can we keep the LGPS?", person_name="Priya")
    nameless = console.store.open_case("web-sr2", "socketio", "Another question")

    async def scenario():
        async with served(console) as client:
            ann, sue = Adviser(client, console.store, console.ann), Adviser(client, console.store, console.sue)
            assert (await post(client, ann, "/saved-replies", {"title": "x", "text": "y"}))[0] == 403
            status, body = await post(
                client,
                sue,
                "/saved-replies",
                {
                    "title": "Pensions",
                    "text": "Hello {name}, council staff usually stay in the LGPS.",
                    "guidance_slug": LGPS,
                    "guidance_anchor": LGPS_STAY,
                },
            )
            assert status == 200
            pensions = body["saved_reply"]
            assert pensions["link"] == {
                "title": "Keeping council staff in the LGPS (admitted body status) \u203a Can council staff stay in "
                "the Local Government Pension Scheme after spinning out?",
                "url": f"https://chat.example.org/guidance/{LGPS}#{LGPS_STAY}",
            }
            status, body = await post(
                client, sue, "/saved-replies", {"title": "Bad link", "text": "t", "guidance_slug": "no-such-page"}
            )
            assert status == 409 and "not a page" in body["error"]
            assert (await post(client, sue, "/saved-replies", {"title": 3, "text": "t"}))[0] == 400
            _, body = await post(client, sue, "/saved-replies", {"title": "Welcome", "text": "Hello {name}!"})
            welcome = body["saved_reply"]

            status, used = await post(client, ann, f"/cases/{case.id}/saved-replies/{pensions['id']}/use", None)
            assert status == 200 and used["uses"] == 1
            assert used["filled"] == (
                "Hello Priya, council staff usually stay in the LGPS.\n\nSource: ["
                f"{pensions['link']['title']}]({pensions['link']['url']})"
            )
            _, used = await post(client, ann, f"/cases/{nameless.id}/saved-replies/{welcome['id']}/use", None)
            assert used["filled"] == "Hello!" and used["link"] is None

            assert await post(
                client,
                ann,
                f"/saved-replies/{welcome['id']}",
                {"title": "Welcome", "text": "Hello {name}!", "active": False},
            ) == (403, {"error": "only a supervisor can change saved replies"})
            status, body = await post(
                client,
                sue,
                f"/saved-replies/{welcome['id']}",
                {"title": "Welcome", "text": "Hello {name}!", "active": False},
            )
            assert status == 200 and body["saved_reply"]["active"] is False
            listed = await ann.get("/saved-replies?all=1")  # an adviser sees only those in use
            assert [(r["title"], r["uses"]) for r in listed["saved_replies"]] == [("Pensions", 1)]
            everything = await sue.get("/saved-replies?all=1")
            assert [(r["title"], r["active"]) for r in everything["saved_replies"]] == [
                ("Pensions", True),
                ("Welcome", False),
            ]
            status, body = await post(client, ann, f"/cases/{case.id}/saved-replies/{welcome['id']}/use", None)
            assert status == 409 and "retired" in body["error"]
            assert (await post(client, ann, f"/cases/{case.id}/saved-replies/abc/use", None))[0] == 404

    asyncio.run(scenario())
