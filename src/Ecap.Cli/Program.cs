System.Console.WriteLine("ecap");
