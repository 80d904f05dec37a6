@organization
Feature: Organization members pay from the organization's pool and their own allocation
  Flow 2 of the testing guide. An admin creates an organization on the Platform plan, buys credits
  into its pool and allocates part of them to members. A member's call is paid from the pool and
  from that member's allocation, never from the member's own credits, and is attributed to them.

  Background:
    Given Alice has created the organization Acme on the Platform plan
    And Acme has bought 10,000 credits
    And Olivia is a member of Acme with 2,500 allocated credits

  @guide.flow-2
  Rule: Creating an organization subscribes it to the Platform plan

    @smoke
    Scenario: Alice's new organization Acme is billed on the Platform plan, $50.00 a month
      Then billing has Acme subscribed to the platform plan at $50.00 a month
      And Acme's pool holds 10,000 credits of which 2,500 are allocated

  @contract.endpoints
  Rule: An organization's name is 1 to 200 characters

    Scenario Outline: Alice's organization Globex, with <name>, is created
      When Alice creates the organization Globex with <name>
      Then Alice's organization Globex is created

      Examples: At each limit
        | name                     |
        | a name of 1 character    |
        | a name of 200 characters |

    Scenario Outline: Alice's organization Globex, with <name>, is refused as invalid
      When Alice tries to create the organization Globex with <name>
      Then Alice's organization is refused as invalid, naming what is wrong
      And Alice has no organizations but Acme

      Examples: Just past each limit
        | name                     |
        | an empty name            |
        | a name of 201 characters |

  @guide.flow-2
  Rule: A member's call is paid from the pool and from that member's allocation

    @smoke @critical
    Scenario: Olivia's call is paid from her allocation and from Acme's pool
      When Olivia asks gpt-3.5-turbo a question of 100 tokens
      Then the call is billed to the organization at the price of that call
      And Olivia's allocation in Acme is down from 2,500 by the price of that call
      And Acme's pool is down by the price of that call
      And Olivia's own credits are untouched
      And the ledger shows exactly 1 charge to Olivia in Acme, each the price of one such call

  @contract.six-steps
  Rule: A member pays for the tokens used, and the rest of the reservation returns to the allocation

    @critical
    Scenario: Olivia's allocation pays for the 40 tokens her call used, not for its budget of 100
      Given the LLM provider uses 40 percent of each call's token budget
      When Olivia asks gpt-4 a question of 100 tokens
      Then the call costs the price of 40 tokens of gpt-4
      And Olivia's allocation in Acme is down from 2,500 by the price of that call
      And Acme's pool is down by the price of that call

    @critical @streaming
    Scenario: Olivia's allocation pays for the 40 tokens her stream used, not for its budget of 100
      Given the LLM provider uses 40 percent of each call's token budget
      When Olivia asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then the call costs the price of 40 tokens of gpt-4
      And Olivia's allocation in Acme is down from 2,500 by the price of that call
      And Acme's pool is down by the price of that call

  @contract.streaming
  Rule: A member's streamed call is charged once, to the allocation and the pool

    @critical @streaming
    Scenario: Olivia's streamed call is charged once to her allocation and to Acme's pool
      When Olivia asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then Olivia received the answer piece by piece, and its last piece stated what the call cost
      And the call is billed to the organization at the price of that call
      And Olivia's allocation in Acme is down from 2,500 by the price of that call
      And Acme's pool is down by the price of that call
      And the ledger shows exactly 1 charge to Olivia in Acme, each the price of one such call

  @contract.six-steps
  Rule: A member of two organizations is paid for by the one the call names, else by the one joined first

    Background:
      Given Oscar has created the organization Globex on the Platform plan
      And Globex has bought 10,000 credits

    @critical @needs.org-named-in-call
    Scenario: Olivia's call on Globex's account is paid by Globex, not by Acme, which she joined first
      Given Olivia is a member of Globex with 500 allocated credits
      When Olivia asks gpt-3.5-turbo a question of 100 tokens on Globex's account
      Then the call is billed to the organization at the price of that call
      And Olivia's allocation in Globex is down from 500 by the price of that call
      And Globex's pool is down by the price of that call
      And Olivia still has all 2,500 of her allocated credits in Acme
      And nothing was charged to Acme

    @critical @streaming @needs.org-named-in-call
    Scenario: Olivia's stream on Globex's account is paid by Globex, not by Acme, which she joined first
      Given Olivia is a member of Globex with 500 allocated credits
      When Olivia asks gpt-3.5-turbo a question of 100 tokens on Globex's account and reads the answer as it is written
      Then the call is billed to the organization at the price of that call
      And Olivia's allocation in Globex is down from 500 by the price of that call
      And Globex's pool is down by the price of that call
      And Olivia still has all 2,500 of her allocated credits in Acme
      And nothing was charged to Acme

    @critical
    Scenario: Olivia's call that names no organization is paid by Acme, which she joined first
      Given Olivia is a member of Globex with 500 allocated credits
      When Olivia asks gpt-3.5-turbo a question of 100 tokens
      Then the call is billed to the organization at the price of that call
      And Olivia's allocation in Acme is down from 2,500 by the price of that call
      And Acme's pool is down by the price of that call
      And Olivia still has all 500 of her allocated credits in Globex
      And nothing was charged to Globex

    @critical @needs.org-named-in-call
    Scenario: Max, whose allocation in Acme is spent, is served on Globex's account
      Given Max is a member of Acme with credits allocated for just under one gpt-3.5-turbo call of 100 tokens
      And Max is a member of Globex with 500 allocated credits
      When Max asks gpt-3.5-turbo a question of 100 tokens on Globex's account
      Then the call is billed to the organization at the price of that call
      And Max's allocation in Globex is down from 500 by the price of that call
      And Globex's pool is down by the price of that call
      And nothing was charged to Acme

    @critical @needs.org-named-in-call
    Scenario: Max, whose allocation in Acme is spent, is refused on Acme's account though Globex's would pay
      Given Max is a member of Acme with credits allocated for just under one gpt-3.5-turbo call of 100 tokens
      And Max is a member of Globex with 500 allocated credits
      When Max asks gpt-3.5-turbo a question of 100 tokens on Acme's account
      Then the call is refused with 402 Payment Required
      And nothing was charged to Acme
      And Max still has all 500 of his allocated credits in Globex
      And the ledger shows no charge to Max

    @critical @needs.org-named-in-call
    Scenario: Olivia's call on the account of Globex, whose member she is not, is refused and costs nothing
      When Olivia asks gpt-3.5-turbo a question of 100 tokens on Globex's account
      Then Olivia is told her call names an organization that is not hers
      And nothing was charged to Globex
      And Olivia still has all 2,500 of her allocated credits in Acme
      And the ledger shows no charge to Olivia

  @contract.lago
  Rule: A member's usage reaches billing on the organization's subscription, as the ledger charged it

    @critical
    Scenario: Olivia's call that uses 40 of its 100 tokens reaches billing on Acme's subscription as charged
      Given the LLM provider uses 40 percent of each call's token budget
      When Olivia asks gpt-4 a question of 100 tokens
      Then the call costs the price of 40 tokens of gpt-4
      And billing received the usage of Olivia's call on Acme's subscription
      And billing received the usage of Olivia's call as the ledger charged it

    @critical @streaming
    Scenario: Olivia's stream that uses 40 of its 100 tokens reaches billing on Acme's subscription as charged
      Given the LLM provider uses 40 percent of each call's token budget
      When Olivia asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then the call costs the price of 40 tokens of gpt-4
      And billing received the usage of Olivia's call on Acme's subscription
      And billing received the usage of Olivia's call as the ledger charged it

  @guide.flow-2
  Rule: Usage is attributed to the member who made it

    @critical
    Scenario: Alice sees Olivia's usage attributed to Olivia
      When Olivia asks gpt-3.5-turbo a question of 100 tokens
      Then Acme's usage report attributes the price of that call and 1 API call to Olivia
      And billing received the usage of Olivia's call on Acme's subscription

    @critical @streaming
    Scenario: Alice sees Olivia's streamed usage attributed to Olivia
      When Olivia asks gpt-3.5-turbo a question of 100 tokens and reads the answer as it is written
      Then Acme's usage report attributes the price of that call and 1 API call to Olivia
      And billing received the usage of Olivia's call on Acme's subscription

  @invariant.money
  Rule: Allocations never exceed the pool

    Scenario: Alice cannot allocate more credits than Acme's pool holds
      Given Max is a member of Acme
      When Alice tries to allocate 8,000 of Acme's credits to Max
      Then Alice is refused because the allocation would exceed the pool
      And Acme's pool holds 10,000 credits of which 2,500 are allocated

    Scenario: Alice allocates the whole of Acme's pool between Olivia and Max
      Given Max is a member of Acme
      When Alice tries to allocate 7,500 of Acme's credits to Max
      Then Acme's pool holds 10,000 credits of which 10,000 are allocated

    Scenario: Alice cannot allocate to Olivia alone more credits than Acme's pool holds
      When Alice tries to allocate 12,000 of Acme's credits to Olivia
      Then Alice is refused because the allocation would exceed the pool
      And Acme's pool holds 10,000 credits of which 2,500 are allocated

  @contract.endpoints
  Rule: An allocation can be changed, but never below what the member has already used

    Scenario: Alice raises Olivia's allocation after a call, and Olivia keeps all she has not used
      When Olivia asks gpt-3.5-turbo a question of 100 tokens
      And Alice tries to allocate 3,000 of Acme's credits to Olivia
      Then Olivia's allocation in Acme is 3,000 credits, less the price of that call

    Scenario: Alice lowers Olivia's allocation to exactly what Olivia has already used
      When Olivia asks gpt-4 a question of 1,000 tokens
      And Alice tries to allocate Acme's credits to Olivia, exactly what that call cost
      Then Olivia's allocation in Acme is used up

    Scenario: Alice cannot lower Olivia's allocation below what Olivia has already used
      When Olivia asks gpt-4 a question of 1,000 tokens
      And Alice tries to allocate Acme's credits to Olivia, just under what that call cost
      Then Alice is refused because Olivia has already used more than that
      And Olivia's allocation in Acme is down from 2,500 by the price of that call

  @contract.endpoints
  Rule: An allocation names its member once: by identity or by e-mail, not both and not neither

    Scenario Outline: Alice's allocation naming <naming> is refused as invalid and moves no credits
      Given Max is a member of Acme
      When Alice tries to allocate 500 of Acme's credits naming <naming>
      Then Alice's allocation is refused as invalid, naming what is wrong
      And Acme's pool holds 10,000 credits of which 2,500 are allocated

      Examples: No member named
        | naming    |
        | no member |

      @needs.allocate-by-email
      Examples: Two members named, one by identity and one by e-mail
        | naming                               |
        | Olivia by identity and Max by e-mail |

  @contract.endpoints
  Rule: An account is named by an identity of 1 to 255 characters or an e-mail of 3 to 254: a name past these is invalid, one within them that is no one's is not found

    Scenario Outline: Alice's allocation naming a member by <name> is refused as <refusal> and moves no credits
      When Alice tries to allocate 500 of Acme's credits naming a member by <name>
      Then Alice's allocation is refused as <refusal>
      And Acme's pool holds 10,000 credits of which 2,500 are allocated

      Examples: An identity of 1 to 255 characters
        | name                          | refusal   |
        | an identity of 1 character    | not found |
        | an identity of 255 characters | not found |
        | an empty identity             | invalid   |
        | an identity of 256 characters | invalid   |

      @needs.allocate-by-email
      Examples: An e-mail of 3 to 254 characters
        | name                        | refusal   |
        | an e-mail of 3 characters   | not found |
        | an e-mail of 254 characters | not found |
        | an e-mail of 2 characters   | invalid   |
        | an e-mail of 255 characters | invalid   |

    Scenario Outline: Alice's invitation of someone named by <name> is refused as <refusal> and adds no member to Acme
      When Alice tries to invite someone to Acme by <name>
      Then Alice's invitation is refused as <refusal>
      And Acme's members are still Alice and Olivia

      Examples: An identity of 1 to 255 characters
        | name                          | refusal   |
        | an identity of 1 character    | not found |
        | an identity of 255 characters | not found |
        | an empty identity             | invalid   |
        | an identity of 256 characters | invalid   |

      @needs.invite-by-email
      Examples: An e-mail of 3 to 254 characters
        | name                        | refusal   |
        | an e-mail of 3 characters   | not found |
        | an e-mail of 254 characters | not found |
        | an e-mail of 2 characters   | invalid   |
        | an e-mail of 255 characters | invalid   |

  @contract.endpoints
  Rule: A member sees their own allocation, even when none is made

    Scenario: Max, a member of Acme without an allocation, sees that none of Acme's credits are his
      Given Max is a member of Acme
      Then Max's allocation in Acme shows no credits allocated, used or left

  @contract.endpoints
  Rule: Only the organization's admin manages its credits

    Scenario: Olivia, a member, cannot see the organization's books
      When Olivia asks for Acme's credits
      Then Olivia is refused because only an organization admin may do that

    Scenario: Nora, an outsider, cannot even learn that Acme exists
      Given Nora is an individual on the Professional plan with 0 credits
      When Nora asks for Acme's credits
      Then Nora is told there is no such organization
