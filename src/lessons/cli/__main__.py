from lessons.cli import main

main()
