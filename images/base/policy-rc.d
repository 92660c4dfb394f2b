#!/bin/sh
# Packages must not start services while an image is built: containers run one service each.
exit 101
