@byok
Feature: BYOK users call with their own OpenRouter key and pay no credits
  Flow 3 of the testing guide. A user who stores their own OpenRouter key has their calls routed
  with that key: the call costs no credits, but it still counts against the API-call quota.

  Background:
    Given Bea is an individual on the Professional plan with 1,000 credits
    And Bea has stored her own OpenRouter key

  @invariant.secrecy
  Rule: A stored key is kept secret

    @smoke
    Scenario: Bea sees that her OpenRouter key is configured, but never the key itself
      Then Bea's settings show that an OpenRouter key is configured
      And Bea's settings never show the key itself
      And Bea's settings show a short hint of the key
      And Bea's key is not stored in readable form
      And Bea's stored key opens only with Ops-Center's cipher key

  @guide.flow-3
  Rule: A BYOK call is routed with the user's own key and costs no credits

    @smoke @critical
    Scenario: Bea's call goes to OpenRouter with her own key and costs nothing
      When Bea asks gpt-4 a question of 100 tokens
      Then the provider received the call through OpenRouter with Bea's own key
      And the call is billed to Bea's own key at no cost
      And Bea's credits are untouched
      And the ledger shows no charge to Bea

  @guide.flow-3
  Rule: BYOK calls still count against the API-call quota

    @critical
    Scenario: Bea's BYOK call still uses one of her 10,000 API calls
      When Bea asks gpt-4 a question of 100 tokens
      Then the call counted one more of Bea's 10,000 API calls
      And billing received the usage of Bea's call

    @critical
    Scenario: Bea's BYOK call after all 10,000 API calls of her month is refused until the quota resets
      Given Bea has already used 10,000 of her 10,000 API calls this month
      When Bea asks gpt-4 a question of 100 tokens
      Then the call is refused with 429 Too Many Requests
      And the refusal's X-RateLimit-Reset names the start of next month
      And the LLM provider served none of Bea's calls

  @contract.endpoints @needs.byok-choice
  Rule: A user may opt out of BYOK for a call, or demand it

    Scenario: Bea pays with her credits when she opts out of her own key
      When Bea asks gpt-3.5-turbo a question of 100 tokens without her own key
      Then the call is billed to Bea's own credits at the price of that call
      And the provider received the call with the platform's key, not Bea's

    Scenario: Bea's call that demands her own key goes to OpenRouter with it and costs nothing
      When Bea asks gpt-4 a question of 100 tokens, demanding her own key
      Then the provider received the call through OpenRouter with Bea's own key
      And the call is billed to Bea's own key at no cost
      And Bea's credits are untouched

    Scenario: Ivy's call that demands her own key, when she has stored none, is refused and costs nothing
      Given Ivy is an individual on the Professional plan with credits for exactly 10 gpt-3.5-turbo calls of 100 tokens
      When Ivy asks gpt-3.5-turbo a question of 100 tokens, demanding her own key
      Then the call is refused as invalid, saying Ivy has stored no key of her own
      And Ivy's credits are untouched
      And the LLM provider served none of Ivy's calls

  @contract.endpoints
  Rule: A key of 8 to 512 characters is stored; a shorter or longer one is refused as invalid, and the stored key kept

    Scenario Outline: Bea's new OpenRouter key of <length> characters is stored
      When Bea stores a new OpenRouter key of <length> characters
      Then Bea's new key is stored

      Examples: At each limit
        | length |
        | 8      |
        | 512    |

    Scenario Outline: Bea's new OpenRouter key of <length> characters is refused as invalid, and her key is kept
      When Bea tries to store a new OpenRouter key of <length> characters
      Then Bea's key is refused as invalid, naming what is wrong
      And Bea's settings show a short hint of the key

      Examples: Just past each limit
        | length |
        | 7      |
        | 513    |
