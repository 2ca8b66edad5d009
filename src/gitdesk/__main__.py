"""python -m gitdesk"""

from gitdesk.cli.root import main

main()
