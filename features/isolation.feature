@isolation
Feature: One tenant never reaches into another's books
  OWASP API1 (broken object-level authorization) and API5 (broken function-level authorization) as an
  Ops-Center tenant would try them: with a valid sign-in of their own and the real id of another's
  organization or account. An organization that is not the caller's is not disclosed, a member manages
  no credits, and an expired or foreign sign-in is refused. After every attempt the ledger is read:
  nothing moved.

  @invariant.isolation
  Rule: An admin of one organization cannot act in another

    Scenario Outline: Oscar, the admin of Globex, cannot <act> Acme
      Given Alice has created the organization Acme on the Platform plan
      And Acme has bought 10,000 credits
      And Olivia is a member of Acme with 2,500 allocated credits
      And Oscar has created the organization Globex on the Platform plan
      When Oscar attempts to <act> Acme
      Then nothing moved in Acme's books
      And Oscar is told there is no such organization

      Examples: Each thing an admin may do in his own organization
        | act                              |
        | read the credits of              |
        | read the usage report of         |
        | buy credits for                  |
        | allocate credits to himself in   |
        | add himself as a member of       |
        | delete                           |

  @invariant.isolation
  Rule: A member of one organization cannot act in another

    Scenario Outline: Olivia, a member of Acme, cannot <act> Globex
      Given Alice has created the organization Acme on the Platform plan
      And Olivia is a member of Acme
      And Oscar has created the organization Globex on the Platform plan
      And Globex has bought 5,000 credits
      When Olivia attempts to <act> Globex
      Then nothing moved in Globex's books
      And Olivia is told there is no such organization

      Examples:
        | act                              |
        | read the credits of              |
        | buy credits for                  |
        | allocate credits to herself in   |
        | delete                           |

  @invariant.isolation
  Rule: A member manages no credits, not even her own

    Scenario Outline: Olivia, a member of Acme, cannot <act> Acme
      Given Alice has created the organization Acme on the Platform plan
      And Acme has bought 10,000 credits
      And Olivia is a member of Acme with 2,500 allocated credits
      When Olivia attempts to <act> Acme
      Then nothing moved in Acme's books
      And Olivia is refused because only an organization admin may do that

      Examples:
        | act                              |
        | allocate credits to herself in   |
        | buy credits for                  |
        | read the usage report of         |
        | delete                           |

  @invariant.isolation
  Rule: A user's balance and key are hers alone

    Scenario: Nora names Ivy's account and still sees only her own balance
      Given Ivy is an individual on the Professional plan with 1,000 credits
      And Nora is an individual on the Professional plan with 0 credits
      When Nora asks for a balance, naming Ivy's account
      Then Nora learns nothing of Ivy's balance

    Scenario: Nora names Bea's account and learns nothing of Bea's key
      Given Bea is an individual on the Professional plan with 1,000 credits
      And Bea has stored her own OpenRouter key
      And Nora is an individual on the Professional plan with 0 credits
      When Nora asks for key settings, naming Bea's account
      Then Nora learns nothing of Bea's key

  @invariant.sign-in
  Rule: Only a current sign-in of Ops-Center's realm is accepted

    Scenario Outline: Ivy's call with <sign-in> is turned away and costs nothing
      Given Ivy is an individual on the Professional plan with 1,000 credits
      When Ivy asks gpt-3.5-turbo a question of 100 tokens with <sign-in>
      Then Ivy's call is turned away as not signed in
      And Ivy's credits are untouched
      And the ledger shows no charge to Ivy

      Examples:
        | sign-in                      |
        | an expired sign-in           |
        | a sign-in from another realm |

    Scenario Outline: Ivy's call with <forgery> is refused and moves nothing
      Given Ivy is an individual on the Professional plan with 1,000 credits
      When Ivy asks gpt-3.5-turbo a question of 100 tokens with <forgery>
      Then Ivy's call is turned away as not signed in
      And Ivy's credits are untouched
      And the ledger shows no charge to Ivy
      And the LLM provider served none of Ivy's calls

      Examples:
        | forgery                                                           |
        | a sign-in signed by a key that is not the realm's                 |
        | a sign-in with no signature, claiming it needs none               |
        | a sign-in signed with the realm's public key as a shared secret   |
        | a sign-in naming a signing key the realm does not have            |
        | a sign-in claiming another realm issued it                        |
        | a sign-in issued to another application                           |
        | a sign-in valid only from tomorrow                                |
        | a sign-in with its signature cut short                            |

    @needs.realm-tokens
    Scenario: Ivy's call with a sign-in signed by a key the realm has just published is served, as after a key rotation
      Given Ivy is an individual on the Professional plan with 1,000 credits
      When Ivy asks gpt-3.5-turbo a question of 100 tokens with a sign-in signed by a key the realm has just published
      Then Ivy's call is served
      And Ivy's credits are down by the price of that call
