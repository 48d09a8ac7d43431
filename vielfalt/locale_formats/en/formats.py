"""English as read in Germany. Django's English formats are American: "03/07/2013" for 7 March 2013, which a reader
of British or European English, or a German reading the portal in English, takes for 3 July. Dates are written
unambiguously instead: the year first in short dates (ISO 8601, "2013-03-07"), the month's name in long ones
("7 March 2013"). Weeks start on Monday, as German calendars do. Times are on the 24-hour clock, as in German
("09:00", "14:30"): Django's English "9 a.m." ended a sentence in "a.m.." and left "12 a.m." to guesswork."""

DATE_FORMAT = "j F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
FIRST_DAY_OF_WEEK = 1
