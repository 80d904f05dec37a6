@individual
Feature: An individual pays for LLM calls from their own credits
  Flow 1 of the testing guide. A subscriber of the Professional plan has 10,000 API calls a period
  and a balance of credits. Each LLM call uses one API call, and its cost in credits leaves the
  subscriber's own balance.

  Background:
    Given Ivy is an individual on the Professional plan with 1,000 credits

  @guide.flow-1
  Rule: Signing up on a plan gives its API-call quota and a subscription in billing

    @smoke
    Scenario: Ivy's Professional plan gives her 10,000 API calls
      Then Ivy has used 0 of her 10,000 API calls on the professional plan
      And billing has Ivy subscribed to the professional plan at $49.00 a month

  @guide.flow-1
  Rule: Every call is counted against the plan's API-call quota

    @smoke @critical
    Scenario: Ivy's call uses one more of her 10,000 API calls
      When Ivy asks gpt-3.5-turbo a question of 100 tokens
      Then the call counted one more of Ivy's 10,000 API calls

    @critical @streaming
    Scenario: Ivy's streamed call uses one more of her 10,000 API calls
      When Ivy asks gpt-3.5-turbo a question of 100 tokens and reads the answer as it is written
      Then the call counted one more of Ivy's 10,000 API calls

  @contract.six-steps
  Rule: Every answer says how many API calls are left in the period

    Scenario: Ivy's answer says 9,999 of her 10,000 API calls are left
      When Ivy asks gpt-3.5-turbo a question of 100 tokens
      Then Ivy's answer says 9,999 API calls are left in the period

    @streaming
    Scenario: Ivy's streamed answer says 9,999 of her 10,000 API calls are left
      When Ivy asks gpt-3.5-turbo a question of 100 tokens and reads the answer as it is written
      Then Ivy's answer says 9,999 API calls are left in the period

  @contract.six-steps
  Rule: A spent quota comes back when its period ends, at the start of the next calendar month in UTC

    Scenario: Ivy's answer says her API calls come back at the start of next month
      When Ivy asks gpt-3.5-turbo a question of 100 tokens
      Then Ivy's answer says her API calls come back at the start of next month

    @streaming
    Scenario: Ivy's streamed answer says her API calls come back at the start of next month
      When Ivy asks gpt-3.5-turbo a question of 100 tokens and reads the answer as it is written
      Then Ivy's answer says her API calls come back at the start of next month

  @guide.flow-1
  Rule: The cost of a call leaves the caller's own balance

    @smoke @critical
    Scenario: Ivy pays for her gpt-3.5-turbo call from her own credits
      When Ivy asks gpt-3.5-turbo a question of 100 tokens
      Then the call is billed to Ivy's own credits at the price of that call
      And Ivy's credits are down by the price of that call
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call
      And billing received the usage of Ivy's call

    Scenario: Ivy's client, which accepts compressed answers, reads the whole answer and pays once
      When Ivy asks gpt-4 a question of 100 tokens from a client that accepts compressed answers
      Then Ivy read the whole answer
      And Ivy's credits are down by the price of that call
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call

  @guide.credit-costs
  Rule: A call costs the model's price times the tokens the provider reported

    @critical
    Scenario Outline: Ivy pays <credits> credits for <tokens> tokens of <model>
      When Ivy asks <model> a question of <tokens> tokens
      Then the call costs <credits> credits, the model's price times the tokens reported
      And Ivy has <left> credits left

      Examples: The guide's table, 100 tokens each
        | model           | tokens | credits | left |
        | gpt-3.5-turbo   | 100    | 9       | 991  |
        | gpt-4           | 100    | 48      | 952  |
        | gpt-4-turbo     | 100    | 24      | 976  |
        | claude-3-sonnet | 100    | 15      | 985  |

      Examples: Fractions of a credit are rounded up
        | model           | tokens | credits | left |
        | gpt-3.5-turbo   | 250    | 23      | 977  |
        | claude-3-sonnet | 1,000  | 150     | 850  |
        | gpt-3.5-turbo   | 1,112  | 101     | 899  |

  @contract.six-steps
  Rule: A call is charged for the tokens it used, and the rest of its reservation comes back

    @critical
    Scenario: Ivy pays for the 40 tokens her call used, not for its budget of 100
      Given the LLM provider uses 40 percent of each call's token budget
      When Ivy asks gpt-4 a question of 100 tokens
      Then the call costs the price of 40 tokens of gpt-4
      And Ivy's credits are down by the price of that call
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call

  @invariant.money
  Rule: Credits reach an account by its identity, never by an e-mail a removed account shared

    @critical
    Scenario: Ivy, removed and created again with the same e-mail, gets the credits granted to her
      Given Ivy's account was deleted and created again with the same e-mail
      When the platform admin grants Ivy 100 credits
      Then Ivy has 100 credits left

    @needs.grant-by-email
    Scenario: A grant by Ivy's e-mail reaches her, the one account with that e-mail
      When the platform admin grants 100 credits to Ivy's e-mail
      Then Ivy has 1,100 credits left

    @needs.grant-by-email
    Scenario: A grant by Ivy's e-mail is refused, since it names her removed account too
      Given Ivy's account was deleted and created again with the same e-mail
      When the platform admin tries to grant 100 credits to Ivy's e-mail
      Then the platform admin is refused because the e-mail names more than one account
      And Ivy has 0 credits left

  @contract.endpoints
  Rule: A grant names its account by an identity of 1 to 255 characters or an e-mail of 3 to 254: a name past these is invalid, one within them that is no one's is not found

    Scenario Outline: A grant to someone named by <name> is refused as <refusal>, and Ivy's credits do not move
      When the platform admin tries to grant 100 credits to someone by <name>
      Then the platform admin's grant is refused as <refusal>
      And Ivy has 1,000 credits left

      Examples: An identity of 1 to 255 characters
        | name                          | refusal   |
        | an identity of 1 character    | not found |
        | an identity of 255 characters | not found |
        | an empty identity             | invalid   |
        | an identity of 256 characters | invalid   |

      @needs.grant-by-email
      Examples: An e-mail of 3 to 254 characters
        | name                        | refusal   |
        | an e-mail of 3 characters   | not found |
        | an e-mail of 254 characters | not found |
        | an e-mail of 2 characters   | invalid   |
        | an e-mail of 255 characters | invalid   |

  @contract.units-and-prices
  Rule: A model may be named with its provider's prefix, at the same price

    Scenario Outline: Ivy's call to <prefixed> costs what a <model> call costs
      When Ivy asks <prefixed> a question of 100 tokens
      Then the call costs what a <model> call of 100 tokens costs

      Examples: Every model of the price table, as LiteLLM and OpenRouter name it
        | prefixed                  | model           |
        | openai/gpt-3.5-turbo      | gpt-3.5-turbo   |
        | openai/gpt-4              | gpt-4           |
        | openai/gpt-4-turbo        | gpt-4-turbo     |
        | anthropic/claude-3-sonnet | claude-3-sonnet |

  @contract.streaming
  Rule: A streamed call is charged once, for the usage reported at its end

    @critical @streaming
    Scenario: Ivy's streamed call is charged once to her own credits
      When Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then Ivy received the answer piece by piece, and its last piece stated what the call cost
      And the call is billed to Ivy's own credits at the price of that call
      And Ivy's credits are down by the price of that call
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call

    @streaming
    Scenario: Ivy's stream pays for the 40 tokens it used, and the rest of its reservation comes back
      Given the LLM provider uses 40 percent of each call's token budget
      When Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then the call costs the price of 40 tokens of gpt-4
      And Ivy's credits are down by the price of that call
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call

  @contract.streaming
  Rule: A streamed answer reaches the caller while the provider is still writing it

    @streaming
    Scenario: Ivy reads the first words of a slow answer before the provider has finished writing it
      Given the LLM provider writes its answers slowly
      When Ivy asks gpt-4 a question of 100 tokens as a stream, and stops reading after the first words
      Then Ivy is charged once, for the whole answer the provider wrote
      And the first words reached Ivy before the provider had written half of the answer

  @contract.streaming
  Rule: A stream the provider breaks off is charged once, for what it had sent

    @streaming
    Scenario: Ivy's stream, broken off by the LLM provider, is charged once for the pieces she received
      Given the LLM provider breaks off its streamed answers after 20 pieces
      When Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then Ivy is told that the answer broke off after 20 pieces
      And Ivy is charged once, for the question and the 20 pieces received, counted as the contract counts a stream

  @contract.streaming
  Rule: A stream whose provider reports no usage is charged once, by a count of what was streamed

    @streaming
    Scenario: Ivy's stream is charged once though the LLM provider reported no usage
      Given the LLM provider uses 40 percent of each call's token budget
      And the LLM provider reports no usage in streamed answers
      When Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written
      Then the tokens charged cover every piece of the answer Ivy received
      And Ivy's credits are down by the price of that call
      And the ledger shows exactly 1 charge to Ivy, each the price of one such call
