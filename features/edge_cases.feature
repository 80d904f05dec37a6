@edge
Feature: Edge cases fail clearly and never lose or invent money
  Flow 4 of the testing guide, every case automated: a call the payer cannot afford, an exhausted
  quota, a user outside any organization, a member without an allocation, simultaneous calls, and
  a provider that fails. Money is stated in calls' worth, so the rules hold at any prices.

  @guide.insufficient-credits
  Rule: A call the payer cannot afford is refused with 402 and an upgrade prompt

    @critical
    Scenario: Olivia's allocation, just short of a gpt-4 call, cannot pay for it
      Given Alice has created the organization Tiny on the Platform plan
      And Tiny has bought 10,000 credits
      And Olivia is a member of Tiny with credits allocated for just under one gpt-4 call of 1,000 tokens
      When Olivia asks gpt-4 a question of 1,000 tokens
      Then the call is refused with 402 Payment Required
      And the refusal names the price of the call as required and Olivia's allocation as available
      And the refusal offers an upgrade
      And nothing was charged to Tiny
      And the call was not counted against Olivia's API calls

    @critical
    Scenario: Ivy's own credits, just short of a gpt-3.5-turbo call, cannot pay for it
      Given Ivy is an individual on the Professional plan with credits for just under one gpt-3.5-turbo call of 100 tokens
      When Ivy asks gpt-3.5-turbo a question of 100 tokens
      Then the call is refused with 402 Payment Required
      And the refusal offers an upgrade
      And the refusal says 10,000 API calls are left in the period
      And Ivy's credits are untouched

    @critical
    Scenario: Nora, who has just signed up and bought no credits, cannot pay for her first call
      Given Nora has just signed up on the Professional plan and bought nothing
      When Nora asks gpt-3.5-turbo a question of 100 tokens
      Then the call is refused with 402 Payment Required
      And the refusal names the price of the call as required and no credits as available
      And the ledger shows no charge to Nora

  @contract.streaming
  Rule: A stream the payer cannot afford is refused with 402 before any of it is sent

    @critical @streaming
    Scenario: Ivy's own credits, just short of a gpt-4 call, cannot pay for it as a stream
      Given Ivy is an individual on the Professional plan with credits for just under one gpt-4 call of 100 tokens
      When Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then the call is refused with 402 Payment Required
      And the refusal offers an upgrade
      And no part of the answer reached Ivy
      And Ivy's credits are untouched

  @guide.quota-exceeded
  Rule: The API-call quota is enforced with 429 and the time it resets

    @critical
    Scenario: Tess's last API call of the month on the Trial plan is still served
      Given Tess is an individual on the Trial plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      And Tess has already used 699 of her 700 API calls this month
      When Tess asks gpt-3.5-turbo a question of 100 tokens
      Then Tess's call is served
      And Tess has used 700 of her 700 API calls on the trial plan
      And Tess has credits for exactly 9 such calls left

    @critical
    Scenario: Tess's call after all 700 API calls of her month is refused until the quota resets, and costs nothing
      Given Tess is an individual on the Trial plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      And Tess has already used 700 of her 700 API calls this month
      When Tess asks gpt-3.5-turbo a question of 100 tokens
      Then the call is refused with 429 Too Many Requests
      And the refusal's X-RateLimit-Reset names the start of next month
      And Tess's credits are untouched
      And the LLM provider served none of Tess's calls
      And Tess has used 700 of her 700 API calls on the trial plan

    @slow @critical
    Scenario: Tess's 701st call on the Trial plan is refused until the quota resets
      Given Tess is an individual on the Trial plan with credits for exactly 1,000 gpt-3.5-turbo calls of 100 tokens
      When Tess makes 700 gpt-3.5-turbo calls of 100 tokens, many at once
      Then all 700 calls succeed
      And Tess has used 700 of her 700 API calls on the trial plan
      When Tess asks gpt-3.5-turbo a question of 100 tokens
      Then the call is refused with 429 Too Many Requests
      And the refusal's X-RateLimit-Reset names the start of next month
      And the ledger shows exactly 700 charges to Tess, each the price of one such call
      And Tess has credits for exactly 300 such calls left

  @guide.flow-4
  Rule: Without an organization, a user pays from their own credits

    Scenario: Nora, a member of no organization, pays from her own credits
      Given Nora is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Nora asks gpt-3.5-turbo a question of 100 tokens
      Then the call is billed to Nora's own credits at the price of that call
      And Nora has credits for exactly 9 such calls left

  @guide.no-allocation
  Rule: A member without an allocation is refused clearly, never with a server error

    @critical
    Scenario: Max, a member of Acme without allocated credits, is told why his call was refused
      Given Alice has created the organization Acme on the Platform plan
      And Acme has bought 10,000 credits
      And Max is a member of Acme
      When Max asks gpt-3.5-turbo a question of 100 tokens
      Then the call is refused with 402 Payment Required
      And the refusal explains that no credits are allocated to Max
      And nothing was charged to Acme

    @critical
    Scenario: Max, whose allocation Alice took back, is told no credits are allocated to him
      Given Alice has created the organization Acme on the Platform plan
      And Acme has bought 10,000 credits
      And Max is a member of Acme with 500 allocated credits
      When Alice tries to allocate 0 of Acme's credits to Max
      And Max asks gpt-3.5-turbo a question of 100 tokens
      Then the call is refused with 402 Payment Required
      And the refusal explains that no credits are allocated to Max
      And nothing was charged to Acme

  @invariant.money
  Rule: Simultaneous calls are each charged exactly once, and no balance goes below zero

    @concurrency @critical
    Scenario Outline: Cody's <calls> simultaneous calls with credits for <affordable> of them
      Given Cody is an individual on the Professional plan with credits for exactly <affordable> gpt-3.5-turbo calls of <tokens> tokens
      When Cody makes <calls> gpt-3.5-turbo calls of <tokens> tokens at once
      Then exactly <affordable> calls succeed and the others are refused with 402 Payment Required
      And the LLM provider served only the calls that were paid for
      And Cody has 0 credits left
      And the ledger shows exactly <affordable> charges to Cody, each the price of one such call

      Examples: The guide's case: a balance worth 10 large calls, 20 sent at once
        | calls | tokens | affordable |
        | 20    | 1,111  | 10         |

      Examples: A balance worth 100 calls, 200 sent at once
        | calls | tokens | affordable |
        | 200   | 100    | 100        |

    @concurrency @critical
    Scenario: Olivia's 200 simultaneous calls with an allocation for exactly 100 of them
      Given Alice has created the organization Acme on the Platform plan
      And Acme has bought 10,000 credits
      And Olivia is a member of Acme with credits allocated for exactly 100 gpt-3.5-turbo calls of 100 tokens
      When Olivia makes 200 gpt-3.5-turbo calls of 100 tokens at once
      Then exactly 100 calls succeed and the others are refused with 402 Payment Required
      And the LLM provider served only the calls that were paid for
      And Olivia's allocation in Acme is used up
      And Acme's pool is down by the price of 100 such calls
      And the ledger shows exactly 100 charges to Olivia in Acme, each the price of one such call

  @contract.retries
  Rule: A retried call is never charged twice

    @critical
    Scenario: Ivy's retried call is charged once
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy sends the same gpt-3.5-turbo call of 100 tokens twice
      Then the retry is refused as already charged
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call
      And Ivy has credits for exactly 9 such calls left

    Scenario: Ivy's retry, its settings written in another order, is charged once
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy sends the same gpt-3.5-turbo call of 100 tokens twice, its settings written in another order the second time
      Then the retry is refused as already charged
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call
      And Ivy has credits for exactly 9 such calls left

    @concurrency @critical
    Scenario: Ivy's call sent 10 times at once under one request id is served and charged once
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy sends the same gpt-3.5-turbo call of 100 tokens 10 times at once
      Then exactly 1 of the copies succeeds and the others are refused as already received
      And the LLM provider served only the calls that were paid for
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call
      And Ivy has credits for exactly 9 such calls left

    @concurrency @critical
    Scenario: Olivia's call sent 10 times at once under one request id is charged once to her allocation
      Given Alice has created the organization Acme on the Platform plan
      And Acme has bought 10,000 credits
      And Olivia is a member of Acme with credits allocated for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Olivia sends the same gpt-3.5-turbo call of 100 tokens 10 times at once
      Then exactly 1 of the copies succeeds and the others are refused as already received
      And the LLM provider served only the calls that were paid for
      And the ledger shows exactly 1 charge to Olivia in Acme, each the price of one such call

    Scenario: Ivy's request id reused for another call is refused, and only her first call is charged
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy sends a gpt-3.5-turbo call of 100 tokens and then a gpt-4 call under the same request id
      Then the second call is refused because its request id named another call
      And Ivy was charged only for her first call

  @contract.retries
  Rule: A request id names one caller's request, so another caller may choose the same id

    @critical
    Scenario: Ivy and Nora choose the same request id and each is served and charged once
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      And Nora is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy and Nora each send a gpt-3.5-turbo call of 100 tokens under the same request id
      Then Ivy's call and Nora's call are both served
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call
      And the ledger shows exactly 1 charge to Nora, each the price of one such call
      And Ivy has credits for exactly 9 such calls left
      And Nora has credits for exactly 9 such calls left

  @contract.retries
  Rule: A request id is at most 128 characters

    Scenario: Ivy's call under a request id of 128 characters is served and charged once
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy sends a gpt-3.5-turbo call of 100 tokens under a request id of 128 characters
      Then Ivy read the whole answer
      And Ivy has credits for exactly 9 such calls left

    Scenario: Ivy's call under a request id of 129 characters is refused as invalid and costs nothing
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy sends a gpt-3.5-turbo call of 100 tokens under a request id of 129 characters
      Then the call is refused as invalid, naming the request id
      And Ivy's credits are untouched

  @contract.endpoints
  Rule: A call within the chat body's limits is served, and one just past a limit is refused as invalid at no cost

    Scenario Outline: Ivy's call with <what> is served
      Given Ivy is an individual on the Professional plan with credits for exactly 2 claude-3-sonnet calls of 100,000 tokens
      When Ivy sends a claude-3-sonnet call with <what>
      Then Ivy's call is served

      Examples: At each limit
        | what                                                 |
        | a budget of 1 token                                  |
        | a budget of 100,000 tokens                           |
        | a question signed with a name of 64 characters       |
        | an answer to a tool call whose id has 1 character    |
        | an answer to a tool call whose id has 128 characters |

    Scenario Outline: Ivy's call with <what> is refused as invalid and costs nothing
      Given Ivy is an individual on the Professional plan with credits for exactly 2 claude-3-sonnet calls of 100,000 tokens
      When Ivy sends a claude-3-sonnet call with <what>
      Then the call is refused as invalid, naming what is wrong
      And Ivy's credits are untouched

      Examples: Just past each limit
        | what                                                 |
        | a budget of 0 tokens                                 |
        | a budget of 100,001 tokens                           |
        | a question signed with a name of 65 characters       |
        | an answer to a tool call whose id is empty           |
        | an answer to a tool call whose id has 129 characters |

  @contract.streaming
  Rule: A caller who stops reading a stream is charged once, for the whole answer the provider wrote

    @critical @streaming
    Scenario: Ivy stops reading after the first words and is charged once for the whole answer
      Given Ivy is an individual on the Professional plan with 1,000 credits
      And the LLM provider writes its answers slowly
      When Ivy asks gpt-4 a question of 100 tokens as a stream, and stops reading after the first words
      Then Ivy left before the answer was complete
      And Ivy is charged once, for the whole answer the provider wrote

  @contract.six-steps
  Rule: A call the provider fails costs nothing and is not counted

    Scenario: Ivy is not charged when the LLM provider fails her call
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      And the LLM provider is failing
      When Ivy asks gpt-3.5-turbo a question of 100 tokens
      Then the call fails and Ivy is told the provider failed
      And Ivy's credits are untouched
      And Ivy has used 0 of her 10,000 API calls on the professional plan

    Scenario: Olivia's allocation and Acme's pool get back what her failed call had reserved
      Given Alice has created the organization Acme on the Platform plan
      And Acme has bought 10,000 credits
      And Olivia is a member of Acme with 2,500 allocated credits
      And the LLM provider is failing
      When Olivia asks gpt-3.5-turbo a question of 100 tokens
      Then the call fails and Olivia is told the provider failed
      And Olivia still has all 2,500 of her allocated credits in Acme
      And Acme's pool holds 10,000 credits of which 2,500 are allocated
      And the call was not counted against Olivia's API calls

    @streaming
    Scenario: Ivy is not charged when the LLM provider fails her stream before it begins
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      And the LLM provider is failing
      When Ivy asks gpt-3.5-turbo a question of 100 tokens and reads the answer as it is written
      Then the call fails and Ivy is told the provider failed
      And Ivy's credits are untouched
      And Ivy has used 0 of her 10,000 API calls on the professional plan
