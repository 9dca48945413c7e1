import os
os.environ.setdefault('IN_TEST', '1')  # the same switch nbdev_test sets: no worker processes, no progress bars
