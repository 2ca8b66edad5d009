"""python -m gitdesk"""

from gitdesk.cli import main

main()
