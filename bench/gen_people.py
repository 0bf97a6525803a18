"""Writes a realistic employee CSV of N rows to stdout: unique addresses, a management tree (each person's
manager is an earlier row), employee ids, departments, locations, roles and start dates.

    python3 bench/gen_people.py 100000 > people.csv
"""

import csv
import random
import sys

FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
         "Edsger", "Radia", "Donald", "Hedy", "John", "Annie", "Tim", "Shafi", "Guido", "Sophie"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
        "Allen", "Dijkstra", "Perlman", "Knuth", "Lamarr", "McCarthy", "Easley", "Berners-Lee", "Goldwasser",
        "van Rossum", "Wilson"]
TITLES = ["Software Engineer", "Senior Software Engineer", "Product Manager", "Designer", "Data Analyst",
          "HR Business Partner", "Account Executive", "Support Specialist", "Engineering Manager", "Recruiter"]
DEPARTMENTS = ["Engineering", "Product", "Design", "Data", "People", "Sales", "Support", "Finance"]
LOCATIONS = ["London", "Berlin", "Paris", "New York", "Toronto", "Lisbon", "Remote"]


def main() -> None:
    n = int(sys.argv[1])
    rng = random.Random(7)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["Email", "First Name", "Last Name", "Job Title", "Department", "Location",
                  "Manager Email", "Employee ID", "Role", "Start Date"])
    emails = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}.{i}@bench.example".lower().replace(" ", "")
        manager = emails[(i - 1) // 8] if i > 0 else ""
        role = "manager" if i % 8 == 0 else ("hr" if i % 97 == 0 else "member")
        start = f"20{rng.randint(10, 26):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        out.writerow([email, first, last, rng.choice(TITLES), rng.choice(DEPARTMENTS),
                      rng.choice(LOCATIONS), manager, f"E{i:07d}", role, start])
        emails.append(email)


if __name__ == "__main__":
    main()
