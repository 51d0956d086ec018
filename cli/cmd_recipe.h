/* cmd_recipe.h - `snapsim recipe`: the eight-step recipe on image files. */
#ifndef SNAPSIM_CMD_RECIPE_H
#define SNAPSIM_CMD_RECIPE_H

int cmd_recipe(int argc, char **argv);

#endif
