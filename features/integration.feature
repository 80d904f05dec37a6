@integration
Feature: Integration checklist: every part of the stack does its part
  The testing guide's integration verification checklist, each item checked against the running
  systems rather than ticked by hand.

  Background:
    Given Ivy is an individual on the Professional plan with 1,000 credits

  @contract.endpoints
  Rule: Ops-Center reports on every part it depends on

    @smoke
    Scenario: Ops-Center finds Keycloak, PostgreSQL, Redis, LiteLLM and Lago healthy
      Then Ops-Center reports every part healthy

  @guide.checklist
  Rule: Keycloak authenticates users and carries their plan

    @smoke
    Scenario: Ivy's sign-in is accepted and carries her Professional plan
      Then Ivy's sign-in is signed by the realm and names the professional plan
      And a stranger without a valid sign-in is turned away

  @guide.checklist
  Rule: The ledger in PostgreSQL and the cache in Redis agree

    @critical
    Scenario: After Ivy's calls the ledger is consistent and the cache agrees with it
      When Ivy makes 5 gpt-4-turbo calls of 100 tokens at once
      Then the ledger shows exactly 5 charges to Ivy, each the price of one such call
      And Ivy's balance in the ledger equals her opening credits less her charges
      And the cached balance of Ivy agrees with the ledger
      And the cached API-call count of Ivy agrees with her usage

  @guide.checklist
  Rule: LiteLLM routes platform calls with the platform's key

    Scenario: Ivy's call reaches the provider through LiteLLM with the platform's key
      When Ivy asks claude-3-sonnet a question of 100 tokens
      Then LiteLLM reports that it routed Ivy's call
      And the provider received the call with the platform's key, not Ivy's

  @guide.checklist
  Rule: Lago has every customer on the right plan and receives the usage

    Scenario: Ivy is a Lago customer on the Professional plan and her usage reaches Lago
      When Ivy asks gpt-3.5-turbo a question of 100 tokens
      Then billing has Ivy subscribed to the professional plan at $49.00 a month
      And billing received the usage of Ivy's call

  @contract.lago
  Rule: Billing receives the usage the ledger charged, not what the call reserved

    @critical
    Scenario: Ivy's call that uses 40 of its 100 tokens reaches billing as the ledger charged it
      Given the LLM provider uses 40 percent of each call's token budget
      When Ivy asks gpt-4 a question of 100 tokens
      Then the call costs the price of 40 tokens of gpt-4
      And billing received the usage of Ivy's call as the ledger charged it

    @critical @streaming
    Scenario: Ivy's stream that uses 40 of its 100 tokens reaches billing as the ledger charged it
      Given the LLM provider uses 40 percent of each call's token budget
      When Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then the call costs the price of 40 tokens of gpt-4
      And billing received the usage of Ivy's call as the ledger charged it

  @guide.checklist
  Rule: Errors are graceful: bad requests get a clear refusal, never a server error

    Scenario Outline: Ivy's request with <problem> is refused as invalid and costs nothing
      When Ivy sends a request with <problem>
      Then Ivy's request is refused as invalid, naming what is wrong
      And Ivy's credits are untouched

      Examples:
        | problem                                  |
        | an unknown model                         |
        | no messages                              |
        | a negative token budget                  |
        | a fractional budget                      |
        | a budget beyond what the model can write |
        | a body that is not JSON                  |

    Scenario Outline: Alice's purchase of <amount> credits is refused as invalid
      Given Alice has created the organization Acme on the Platform plan
      When Alice tries to buy <amount> credits for Acme
      Then Alice's purchase is refused as invalid, naming what is wrong
      And Acme holds no credits

      Examples:
        | amount |
        | -100   |
        | 0      |
        | 12.5   |
        | lots   |
        | 250    |
        | 10,005 |
