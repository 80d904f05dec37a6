@limits
Feature: Limits a client cannot lift
  OWASP API2 (broken authentication) and API4 (unrestricted resource consumption) as an attacker would try them:
  an account that keeps failing to sign in is locked for a while, and an address that keeps presenting invalid
  sign-ins is refused for a while. How many attempts each limit allows is the deployment's own. Neither limit is
  lifted when a client claims, on every request, to come from a new address, and one user's attempts never use up
  another user's limit. Each persona calls from an address of her own.

  @contract.limits @needs.sign-in-lockout
  Rule: An account that keeps failing to sign in is locked for a while

    Scenario: Ivy, after failing to sign in as often as her account allows, cannot sign in even with her right credentials
      Given Ivy is an individual on the Professional plan with 0 credits
      When Ivy fails to sign in as often as her account allows
      And Ivy signs in with her right credentials
      Then Ivy's sign-in is refused

  @invariant.limits @needs.sign-in-lockout
  Rule: A client cannot keep an account from locking by claiming to come from a new address

    Scenario Outline: Mallory's failed sign-ins as Ivy, each claiming a new address in <header>, still lock Ivy's account
      Given Ivy is an individual on the Professional plan with 0 credits
      And Mallory is an individual on the Trial plan with 0 credits
      When Mallory fails to sign in as Ivy as often as the account allows, each time claiming a new address in <header>
      And Ivy signs in with her right credentials
      Then Ivy's sign-in is refused

      Examples: Headers in which a client claims another address
        | header          |
        | X-Forwarded-For |
        | X-Real-IP       |
        | Forwarded       |

  @invariant.limits @needs.sign-in-lockout
  Rule: One account's failed sign-ins never lock another account

    Scenario: Mallory's failed sign-ins as Ivy leave Nora free to sign in
      Given Ivy is an individual on the Professional plan with 0 credits
      And Nora is an individual on the Professional plan with 0 credits
      And Mallory is an individual on the Trial plan with 0 credits
      When Mallory fails to sign in as Ivy as often as the account allows
      And Nora signs in with her right credentials
      Then Nora's sign-in succeeds

  @contract.limits
  Rule: An address that keeps presenting invalid sign-ins is refused for a while

    Scenario: Mallory, past the limit of invalid sign-ins, is refused as making too many and told when to try again
      Given Mallory is an individual on the Trial plan with 0 credits
      When Mallory presents invalid sign-ins, one more than her address is allowed
      Then Mallory is refused as making too many attempts, and told when she may try again

  @invariant.limits
  Rule: A client cannot lift the limit on invalid sign-ins by claiming to come from a new address

    Scenario Outline: Mallory, claiming a new address in <header> with each invalid sign-in, is still refused as making too many
      Given Mallory is an individual on the Trial plan with 0 credits
      When Mallory presents invalid sign-ins, one more than her address is allowed, each claiming a new address in <header>
      Then Mallory is refused as making too many attempts

      Examples: Headers in which a client claims another address
        | header          |
        | X-Forwarded-For |
        | X-Real-IP       |
        | Forwarded       |

  @invariant.limits
  Rule: One address's invalid sign-ins never refuse another user

    Scenario: Nora, from her own address, is still served while Mallory is refused
      Given Mallory is an individual on the Trial plan with 0 credits
      And Nora is an individual on the Professional plan with 0 credits
      When Mallory presents invalid sign-ins, one more than her address is allowed
      And Nora presents her own sign-in
      Then Nora's sign-in succeeds while Mallory is refused
