"""The portal's own date formats per language (`FORMAT_MODULE_PATH`), where Django's do not fit a German portal;
anything not set here is Django's."""
