@payments
Feature: Credits come in only through a payment that succeeded, or a platform admin's grant
  The guide's paying flows begin with money coming in: "Org subscription created (Platform $50/mo), Org purchases
  10,000 credits". A purchase charges the payment method on file at the payment provider (Stripe's API), and its
  credits arrive when the provider says the payment succeeded: once, for what the payment paid for. After every
  scenario, each account's credits are held against the payments the provider recorded for it and the grants a
  platform admin made: a credit with neither behind it is money created.

  Background:
    Given Alice has created the organization Acme on the Platform plan

  @invariant.money-in
  Rule: A purchase adds its credits once the payment provider says it was paid, and only then

    @smoke @critical
    Scenario: Alice buys 10,000 credits for Acme with its card on file, and the payment provider charged $10.00
      When Alice buys 10,000 credits for Acme
      Then Acme holds 10,000 credits
      And the payment provider charged Acme $10.00 for them

    @critical
    Scenario: Alice's purchase for Acme goes to Acme, never to her own credits
      Given Alice has been granted 100 credits
      When Alice buys 10,000 credits for Acme
      Then Alice has 100 credits left

    @critical
    Scenario: Ivy buys 10,000 credits for herself with her card on file
      Given Ivy has just signed up on the Professional plan and bought nothing
      When Ivy buys 10,000 credits for herself
      Then Ivy has 10,000 credits left
      And the payment provider charged Ivy $10.00 for them

    @critical @needs.org-payments
    Scenario Outline: Alice's purchase paid with <a payment method> is refused as unpaid, and adds nothing
      Given Acme pays with <a payment method>
      When Alice tries to buy 10,000 credits for Acme
      Then Alice's purchase is refused as unpaid, saying why
      And Acme holds no credits

      Examples:
        | a payment method                                               |
        | a card its bank declines                                       |
        | a card whose bank asks the cardholder to confirm each payment |

    @critical
    Scenario: Ivy's purchase paid with a card her bank declines is refused as unpaid, and adds nothing
      Given Ivy has just signed up on the Professional plan and bought nothing
      And Ivy pays with a card its bank declines
      When Ivy tries to buy 10,000 credits for herself
      Then Ivy's purchase is refused as unpaid, saying why
      And Ivy has 0 credits left

    @needs.org-payments
    Scenario: A card the bank refuses as soon as Alice puts it on file is refused there
      When Alice tries to put on file for Acme a card its bank refuses as soon as it is put on file
      Then Alice is told the card was declined

    @critical @needs.org-payments
    Scenario: Alice's bank debit for Acme that bounces adds nothing
      Given Acme pays with a bank debit that bounces
      When Alice buys 10,000 credits for Acme
      Then once the payment has failed, Acme holds 0 credits

  @invariant.money-in @needs.org-payments
  Rule: Only the payment provider's signed events count, and each payment counts once

    @critical
    Scenario Outline: The event of Alice's payment for Acme, delivered again <signed>, is refused and adds nothing
      Given Acme has bought 10,000 credits
      When the payment provider delivers Acme's payment event again <signed>
      Then the event is refused as not the payment provider's
      And Acme holds 10,000 credits

      Examples:
        | signed                                         |
        | with no signature                              |
        | signed with another secret                     |
        | signed by the payment provider ten minutes ago |

    @critical @concurrency
    Scenario: The event of Alice's payment for Acme, delivered ten more times at once, adds its credits once
      Given Acme has bought 10,000 credits
      When the payment provider delivers Acme's payment event 10 more times at once
      Then Acme holds 10,000 credits

    @critical
    Scenario: A second event reporting Alice's payment for Acme adds its credits once
      Given Acme has bought 10,000 credits
      When the payment provider reports Acme's payment again in an event of its own
      Then Acme holds 10,000 credits

    @critical
    Scenario: A payment someone else made, labelled as for Alice's Acme, adds nothing to Acme
      When someone else pays the payment provider 10,000 credits' worth, labelled as Acme's
      Then Acme holds no credits

  @contract.money-in @needs.org-payments @needs.payment-refunds
  Rule: A platform admin's refund takes back the purchase's credits still unspent and unallocated, and no more

    @critical
    Scenario: Alice's purchase for Acme, refunded in full, takes its credits back
      Given Acme has bought 10,000 credits
      When the platform admin refunds Acme's purchase
      Then Acme holds 0 credits
      And the payment provider gave Acme back $10.00

    @critical
    Scenario: A refund in full of Alice's purchase, part of it allocated to Olivia, is refused and nothing moves
      Given Acme has bought 10,000 credits
      And Olivia is a member of Acme with 2,500 allocated credits
      When the platform admin tries to refund Acme's purchase in full
      Then the refund is refused, saying 2,500 of its credits were spent or allocated
      And Acme holds 10,000 credits

    @critical
    Scenario: The part of Alice's purchase for Acme not allocated to Olivia is refunded
      Given Acme has bought 10,000 credits
      And Olivia is a member of Acme with 2,500 allocated credits
      When the platform admin refunds 7,500 credits of Acme's purchase
      Then Acme's pool holds 2,500 credits of which 2,500 are allocated
      And the payment provider gave Acme back $7.50
