@performance
Feature: The credit flow stays within the guide's latency budgets
  The testing guide's performance benchmarks: each operation is measured over repeated calls and
  its 95th percentile must stay under the budget. (The figures for the README come from the
  benchmark script; this feature guards the budgets on every run.)

  Background:
    Given Ivy is an individual on the Professional plan with 10,000 credits
    And Alice has created the organization Acme on the Platform plan
    And Acme has bought 10,000 credits

  @guide.response-times
  Rule: Each operation's 95th percentile stays under its budget

    Scenario Outline: <actor>'s <operation> stays under <budget> ms at the 95th percentile
      When <actor>'s <operation> is measured over 30 repetitions
      Then the 95th percentile of <operation> is under <budget> ms

      Examples: Timed from outside, or as the answer reports it
        | actor | operation            | budget |
        | Ivy   | authentication       | 500    |
        | Ivy   | usage tracking       | 50     |
        | Alice | organization queries | 200    |

      @needs.phase-timing
      Examples: Timed inside a call, as its answer reports it
        | actor | operation            | budget |
        | Ivy   | credit deduction     | 100    |
