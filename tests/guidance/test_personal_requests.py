"""Requests no guidance page can meet (a task done for the person, a prediction about their own case,
account help) are declined kindly with an adviser offered, before retrieval; real questions that
share their words still reach retrieval."""

import pytest

from bot.guidance._answer import PERSONAL_REQUEST, GuidanceDesk, is_personal_request


@pytest.mark.parametrize(
    "text",
    [
        # tasks done for the person
        "could you fill in our registration form with the FCA",
        "can u draft my letter to the council objecting to the closure",
        "can you sort out our VAT return please",
        "please prepare the minutes for our AGM for us",
        "would you phone my manager and explain",
        "can you book me onto a training course",
        "Can you do the paperwork for us?",
        "would you be a referee for our funding bid",
        "will you act as our company secretary",
        "can you lend us £5,000 until the contract starts",
        # predictions or advice about the person's own case
        "should we take the trust to an employment tribunal",
        "if we appeal the contract award would we win",
        "what are our chances of getting the lease renewed",
        "do I have a strong case against my employer",
        "how much would I personally get if the society is wound up",
        "how much is my redundancy going to be after 14 years",
        "please work out what my pension will be at 67",
        "should I cash in my pension to buy shares in the new mutual",
        # accounts and passwords
        "I forgot my password for the Companies House WebFiling service",
        "I'm locked out of the online portal",
        "can't log in to the member area",
        "how do I unlock my HMRC gateway account",
        # told rather than asked, and appeals made for the person
        "draft me an employment contract for a new care worker",
        "write us a letter to the council asking for the lease",
        "please work out how much corporation tax our CIC owes this year",
        "calculate what our employer NI bill will be",
        "my filing is late and I've got a penalty, can you appeal it for me",
        # a particular firm or person
        "can you recommend a good accountant for our charity in bristol",
        "whos the cheapest solicitor in leeds to do our rules",
        "any good bookkeepers near me",
        "can you suggest a lawyer who knows TUPE",
        "recommend a good pub quiz near me",
        "which accountant in bristol is best for small charities",
        # an opinion or a forecast, and money of one's own
        "do you think the government will scrap employee ownership trusts next year",
        "what do you think of the new council leader",
        "how much maternity pay will i get",
        "how much redundancy pay would i get after 8 years",
        "how much discount would i get buying my council house under right to buy",
        "draft the whole set of society rules for us, we're a 12 person cleaning co-op",
        "which accountant in manchester does cic accounts cheapest",
        # a particular organisation's people, money or plans
        "who is the chief executive of gll",
        "what was city health care partnership's turnover last year",
        "how much does explore york pay its library assistants",
        "who sits on the board of social enterprise uk",
        "can you look at the cinema society's business plan and tell me if it's sound before i buy",
        "can you go through our cic's management accounts and tell me if we're trading while insolvent",
    ],
)
def test_personal_requests_are_recognised(text):
    assert is_personal_request(text), text


@pytest.mark.parametrize(
    "text",
    [
        "can you explain how community shares work for me",
        "can you tell me what TUPE means for us",
        "could you list the main legal forms for a mutual",
        "how much can I invest in community shares",
        "how much can a CIC pay out in dividends",
        "can you change our rules after registering",
        "can you pay staff a tax-free bonus in an employee-owned company",
        "can we win contracts under the procurement act as a mutual",
        "will I keep my pension if my job moves to the mutual",
        "should we take out a loan or look for social investment",
        "should we register as a co-operative or a CIC",
        "should I vote on a contract our board is considering with my partner's firm",
        "do we have to file a CIC34 every year",
        "are there case studies of mutuals that spun out of councils",
        "what happens to our bank account when we convert to a society",
        "who should we talk to about setting up a mutual",
        "how much will it cost to register a co-operative",
        "how do i write a business case for a spin out",
        "who can draft our rules",
        "can you explain how to work out the employer NI on a salary",
        "how do i calculate how much corporation tax a cic pays",
        "can you appeal a late filing penalty",
        "how do we choose an accountant who knows co-ops",
        "which bank lends to co-operatives",
        "which accountants are allowed to audit a co-operative",
        "what does the government think about public service mutuals",
        "would i get redundancy pay if i refuse to transfer",
        "how much pay do directors of a cic get",
        "how much does a cic pay its directors",
        "what is the turnover threshold for an audit",
        "our turnover last year was 2m do we need an audit",
        "who sits on the board of a public service mutual",
        "who is the chair of the board responsible to",
        "write down what the steps are for us",
        "can you tell me what a business plan for a spin out should cover",
        "can you check what the rules say and tell me",
        "can you look at the procurement act and tell me what changed",
        "do we need an auditor",
        "write down the steps to spin out",
    ],
)
def test_real_questions_are_not_mistaken_for_personal_requests(text):
    assert not is_personal_request(text), text


class _NoSearch:
    def search(self, *args, **kwargs):  # a personal request must be declined before any search
        raise AssertionError("searched")


def test_the_desk_declines_kindly_and_offers_an_adviser():
    desk = GuidanceDesk(_NoSearch(), "http://guidance.test", threshold=0.5)
    answer = desk.answer("Can you write our business plan for us by Monday?")
    assert not answer.answered and answer.reason == "personal_request"
    assert answer.text == PERSONAL_REQUEST and "/guidance/" not in answer.text
    assert "adviser" in answer.text and "explain" in answer.text
    assert answer.buttons[-1].payload == "/request_human"
    assert answer.as_json()["reason"] == "personal_request"
